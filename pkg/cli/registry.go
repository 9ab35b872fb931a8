package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/registry"
)

func newAgencyCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "agency", Short: "Read the registry of agencies; import it (administrator)"}
	var inactive bool
	var level string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List agencies in Vietnamese alphabetical order",
		Example: "  tacit --as so-nnmt agency list\n  tacit --as admin:admin agency list --inactive -o csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "csv", "jsonl"); err != nil {
				return err
			}
			req := &tacitv1.ListAgenciesRequest{IncludeInactive: inactive, PageSize: 1000}
			if level != "" {
				l, ok := registry.ParseLevel(level)
				if !ok {
					return usageError{fmt.Sprintf("--level %q: use central, provincial or local", level)}
				}
				req.Level = l
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				var all []*tacitv1.Agency
				for {
					res, err := c.registry.ListAgencies(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, res.GetAgencies()...)
					if res.GetNextPageToken() == "" {
						break
					}
					req.PageToken = res.GetNextPageToken()
				}
				switch e.output {
				case "json":
					return printJSON(e.stdout, &tacitv1.ListAgenciesResponse{Agencies: all})
				case "jsonl":
					return printJSONL(e.stdout, all)
				}
				header := []string{"CODE", "NAME", "LEVEL", "HEAD", "MANDATE", "ACTIVE"}
				var rows [][]string
				for _, a := range all {
					rows = append(rows, []string{a.GetCode(), a.GetName(), registry.LevelName(a.GetLevel()), a.GetHead(), strings.Join(a.GetMandate(), ", "), yesNo(a.GetActive())})
				}
				return printRows(e, header, rows, map[int]int{4: 50})
			})
		},
	}
	list.Flags().BoolVar(&inactive, "inactive", false, "include deactivated agencies")
	list.Flags().StringVar(&level, "level", "", "only central, provincial or local")

	show := &cobra.Command{
		Use:     "show CODE",
		Short:   "Show one agency: level, head and deputies, mandate, heads over time",
		Example: "  tacit --as so-nnmt agency show so-tu-phap",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.registry.GetAgency(ctx, &tacitv1.GetAgencyRequest{Code: strings.TrimPrefix(args[0], "agency:")})
				if err != nil {
					return err
				}
				if e.output == "json" {
					return printJSON(e.stdout, res)
				}
				a := res.GetAgency()
				t := newTable(e.stdout)
				t.row("Code:", a.GetCode())
				t.row("Name:", a.GetName())
				t.row("Level:", registry.LevelName(a.GetLevel()))
				t.row("Head:", a.GetHead())
				t.row("Deputies:", strings.Join(a.GetDeputies(), ", "))
				t.row("Mandate:", strings.Join(a.GetMandate(), ", "))
				t.row("Active:", yesNo(a.GetActive()))
				for _, h := range a.GetHeadHistory() {
					t.row("Head since "+fmtTS(h.GetSince())+":", h.GetHead())
				}
				return t.flush()
			})
		},
	}

	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a registry file (administrator); idempotent upsert",
		Long: `Import fields and agencies from a registry JSON file (see the README for the
format). Existing entries are updated, new ones created; agencies are never
deleted — set "active": false to deactivate one. Invalid files change nothing
and every problem is listed.`,
		Example: "  tacit --as admin:admin agency import registry.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err.Error()}
			}
			req, err := registry.ParseFile(data)
			if err != nil {
				return usageError{err.Error()}
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.registry.ImportRegistry(ctx, req)
				if err != nil {
					return err
				}
				if e.output == "json" {
					return printJSON(e.stdout, res)
				}
				fmt.Fprintf(e.stdout, "Imported %s: fields %d created, %d updated; agencies %d created, %d updated; %d unchanged.\n",
					args[0], res.GetFieldsCreated(), res.GetFieldsUpdated(), res.GetAgenciesCreated(), res.GetAgenciesUpdated(), res.GetUnchanged())
				return nil
			})
		},
	}
	cmd.AddCommand(list, show, imp)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newFieldCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "field", Short: "Read the taxonomy of fields"}
	cmd.AddCommand(&cobra.Command{
		Use:     "list",
		Short:   "List field codes and names",
		Example: "  tacit --as so-nnmt field list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "csv", "jsonl"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.registry.ListFields(ctx, &tacitv1.ListFieldsRequest{})
				if err != nil {
					return err
				}
				switch e.output {
				case "json":
					return printJSON(e.stdout, res)
				case "jsonl":
					return printJSONL(e.stdout, res.GetFields())
				}
				var rows [][]string
				for _, f := range res.GetFields() {
					rows = append(rows, []string{f.GetCode(), f.GetName()})
				}
				return printRows(e, []string{"CODE", "NAME"}, rows, nil)
			})
		},
	})
	return cmd
}
