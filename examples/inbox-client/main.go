// Command inbox-client is an example of an agency's own system following its
// tacit inbox: it connects with the agency's certificate (mutual TLS),
// streams the inbox with WatchInbox, and answers every new consultation
// addressed to the agency with a configured reply.
//
// It is meant to be copied. It uses only the generated API package
// (github.com/tacit-gov/tacit/api/tacit/v1), gRPC and the standard library.
//
// What it shows:
//
//   - Mutual TLS: the agency's certificate and key, and the CA that signed
//     the server's certificate. tacit takes the caller's identity from the
//     certificate; no request names the caller.
//   - Following the inbox: WatchInbox(after_sequence) sends every event after
//     that sequence, then stays open and pushes new ones.
//   - Never losing an event: the last sequence handled is saved in a small
//     state file, and a dropped stream (network failure, server restart) is
//     resumed from it after a back-off. A restart of this program resumes
//     from the file too.
//   - Answering: on CONSULTATION_OPENED it reads the consultation
//     (GetConsultation) and, while the agency is still pending, replies
//     (Reply) with a request_id derived from the consultation, so a retried
//     reply is recorded once.
//
// Usage (against `tacit serve --demo`, see README.md):
//
//	go run ./examples/inbox-client \
//	  -cert tacit-data/pki/clients/agency/so-xay-dung.crt \
//	  -key  tacit-data/pki/clients/agency/so-xay-dung.key \
//	  -ca   tacit-data/pki/ca.crt \
//	  -signer "Trần Quốc Hưng" -signer-role head -position agree
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// config is what the flags set.
type config struct {
	server     string // host:port of tacit serve
	serverName string // name to verify in the server's certificate; empty: the host of server
	cert, key  string // the agency's client certificate and key (PEM)
	ca         string // the CA certificate that signed the server's certificate (PEM)
	agency     string // our agency code; empty: taken from the certificate
	after      uint64 // start after this sequence (overrides the state file when given)
	afterSet   bool
	state      string // file keeping the last sequence handled
	position   tacitv1.Position
	comment    string
	signer     string
	signerRole tacitv1.SignerRole
	dryRun     bool
}

func main() {
	log.SetFlags(log.LstdFlags)
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		log.Print(err)
		os.Exit(2)
	}
	// Ctrl-C or SIGTERM ends the program cleanly; the state file always
	// holds the last event fully handled.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("inbox-client", flag.ContinueOnError)
	fs.StringVar(&cfg.server, "server", "127.0.0.1:7443", "address of the tacit server (host:port)")
	fs.StringVar(&cfg.serverName, "server-name", "", "name to verify in the server's certificate (default: the host of -server)")
	fs.StringVar(&cfg.cert, "cert", "", "the agency's client certificate (PEM), e.g. tacit-data/pki/clients/agency/so-xay-dung.crt")
	fs.StringVar(&cfg.key, "key", "", "the agency's private key (PEM)")
	fs.StringVar(&cfg.ca, "ca", "", "the CA certificate that signed the server's certificate (PEM), e.g. tacit-data/pki/ca.crt")
	fs.StringVar(&cfg.agency, "agency", "", "our agency code (default: read from the certificate, whose common name is agency:CODE)")
	fs.Uint64Var(&cfg.after, "after", 0, "start after this sequence number (default: the one in -state, or 0)")
	fs.StringVar(&cfg.state, "state", "inbox-client.state", "file where the last sequence handled is kept, so a restart resumes exactly")
	position := fs.String("position", "agree", "reply position: agree, agree-with-comments or disagree")
	fs.StringVar(&cfg.comment, "comment", "", "reply comment (required unless -position agree)")
	fs.StringVar(&cfg.signer, "signer", "", "full name of the person who signs the replies (required unless -dry-run)")
	role := fs.String("signer-role", "head", "signer's office: head or deputy")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "only print the events and the replies that would be sent; send nothing and do not write -state")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "after" {
			cfg.afterSet = true
		}
	})
	switch *position {
	case "agree":
		cfg.position = tacitv1.Position_POSITION_AGREE
	case "agree-with-comments":
		cfg.position = tacitv1.Position_POSITION_AGREE_WITH_COMMENTS
	case "disagree":
		cfg.position = tacitv1.Position_POSITION_DISAGREE
	default:
		return nil, fmt.Errorf("-position %q: use agree, agree-with-comments or disagree", *position)
	}
	switch *role {
	case "head":
		cfg.signerRole = tacitv1.SignerRole_SIGNER_ROLE_HEAD
	case "deputy":
		cfg.signerRole = tacitv1.SignerRole_SIGNER_ROLE_DEPUTY
	default:
		return nil, fmt.Errorf("-signer-role %q: use head or deputy", *role)
	}
	var missing []string
	for name, v := range map[string]string{"-cert": cfg.cert, "-key": cfg.key, "-ca": cfg.ca} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("give %s (the agency's certificate, its key and the CA certificate)", strings.Join(missing, ", "))
	}
	if cfg.position != tacitv1.Position_POSITION_AGREE && cfg.comment == "" {
		return nil, fmt.Errorf("-position %s needs -comment (the agency's comments or reasons)", *position)
	}
	if cfg.signer == "" && !cfg.dryRun {
		return nil, errors.New("give -signer (who signs the replies), or use -dry-run")
	}
	return cfg, nil
}

// tlsConfig loads the agency's certificate and the CA for mutual TLS.
func tlsConfig(cfg *config) (*tls.Config, string, error) {
	pair, err := tls.LoadX509KeyPair(cfg.cert, cfg.key)
	if err != nil {
		return nil, "", fmt.Errorf("loading the client certificate: %w", err)
	}
	pem, err := os.ReadFile(cfg.ca)
	if err != nil {
		return nil, "", fmt.Errorf("reading the CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, "", fmt.Errorf("%s holds no PEM certificate", cfg.ca)
	}
	// The agency code is in the certificate's common name, "agency:CODE".
	agency := cfg.agency
	if agency == "" {
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, "", fmt.Errorf("parsing the client certificate: %w", err)
		}
		code, ok := strings.CutPrefix(leaf.Subject.CommonName, "agency:")
		if !ok {
			return nil, "", fmt.Errorf("the certificate is for %q, not an agency (agency:CODE): only agencies have an inbox", leaf.Subject.CommonName)
		}
		agency = code
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      roots,
		ServerName:   cfg.serverName, // empty: gRPC uses the host of -server
		MinVersion:   tls.VersionTLS12,
	}, agency, nil
}

func run(ctx context.Context, cfg *config) error {
	tlsConf, agency, err := tlsConfig(cfg)
	if err != nil {
		return err
	}
	// One connection for the whole life of the program: gRPC reconnects it
	// by itself; we only have to reopen the stream. Keepalive pings let an
	// idle stream live through proxies and notice a dead peer (the server
	// accepts pings every 10s or more).
	conn, err := grpc.NewClient(cfg.server,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", cfg.server, err)
	}
	defer conn.Close()
	client := tacitv1.NewConsultationServiceClient(conn)

	// Where to start: -after when given, otherwise the state file.
	after := cfg.after
	if !cfg.afterSet {
		if after, err = loadState(cfg.state); err != nil {
			return err
		}
	}
	log.Printf("following the inbox of %s on %s after sequence %d", agency, cfg.server, after)

	h := &handler{cfg: cfg, agency: agency, client: client}
	const minBackoff, maxBackoff = 500 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for {
		handled, err := follow(ctx, client, h, &after)
		if ctx.Err() != nil {
			return nil // Ctrl-C or SIGTERM
		}
		if !retryable(err) {
			return err
		}
		if handled > 0 {
			backoff = minBackoff // the stream worked: start the back-off again
		}
		// Jitter spreads the reconnections of many clients after a restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		log.Printf("stream ended (%v); resuming after sequence %d in %s", err, after, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// follow opens one WatchInbox stream after *after and handles events until
// the stream fails. *after (and the state file) move only once an event is
// fully handled, so whatever happens the next stream starts at the first
// event not yet handled. It returns how many events it handled.
func follow(ctx context.Context, client tacitv1.ConsultationServiceClient, h *handler, after *uint64) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WatchInbox(ctx, &tacitv1.WatchInboxRequest{AfterSequence: *after})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		res, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				// The server closed the stream without an error; reconnect.
				err = status.Error(codes.Unavailable, "the server ended the stream")
			}
			return n, err
		}
		ev := res.GetEvent()
		if ev.GetSequence() <= *after {
			continue // never handle an event twice
		}
		if err := h.handle(ctx, ev); err != nil {
			return n, err
		}
		*after = ev.GetSequence()
		n++
		if !h.cfg.dryRun {
			if err := saveState(h.cfg.state, *after); err != nil {
				return n, err
			}
		}
	}
}

// retryable tells a passing failure (resume after a back-off) from one that
// retrying cannot fix (a bad certificate, no permission).
func retryable(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false // not from gRPC: e.g. the state file cannot be written
	}
	switch s.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.Unknown, codes.DeadlineExceeded:
		return true
	}
	return false
}

// handler acts on inbox events.
type handler struct {
	cfg    *config
	agency string
	client tacitv1.ConsultationServiceClient
}

func (h *handler) handle(ctx context.Context, ev *tacitv1.InboxEvent) error {
	fmt.Printf("%d\t%s\t%s\t%s\t%s\n", ev.GetSequence(), ev.GetEventTime().AsTime().Local().Format(time.RFC3339), ev.GetType(), ev.GetConsultationId(), ev.GetMessage())
	switch ev.GetType() {
	case "CONSULTATION_OPENED":
		return h.answer(ctx, ev.GetConsultationId())
	case "REMINDER":
		// A real system would alert the officer in charge here.
	}
	return nil
}

// answer replies to a consultation addressed to us, unless we already
// replied or it is no longer open.
func (h *handler) answer(ctx context.Context, id string) error {
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := h.client.GetConsultation(callCtx, &tacitv1.GetConsultationRequest{Id: id})
	if err != nil {
		if retryable(err) {
			return err // resume and try again
		}
		log.Printf("consultation %s: cannot read it (%v); skipped", id, err)
		return nil
	}
	c := got.GetConsultation()
	var me *tacitv1.Addressee
	for _, a := range c.GetAddressees() {
		if a.GetAgency() == h.agency {
			me = a
		}
	}
	switch {
	case me == nil:
		log.Printf("consultation %s is not addressed to %s; skipped", id, h.agency)
		return nil
	case c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN:
		log.Printf("consultation %s is %s; no reply", id, c.GetState())
		return nil
	case me.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
		log.Printf("consultation %s: %s is already %s; no reply", id, h.agency, me.GetState())
		return nil
	}
	req := &tacitv1.ReplyRequest{
		// The same request_id for the same consultation: if this program
		// crashes after replying but before saving its state, the retried
		// reply returns the first result instead of recording a revision.
		RequestId:      "inbox-client-reply-" + id,
		ConsultationId: id,
		Position:       h.cfg.position,
		Comment:        h.cfg.comment,
		Signer:         &tacitv1.Signer{Name: h.cfg.signer, Role: h.cfg.signerRole},
	}
	if h.cfg.dryRun {
		log.Printf("dry run: would reply %s to consultation %s %q (deadline %s), signed by %q (%s)",
			req.GetPosition(), id, c.GetTitle(), me.GetDeadline().AsTime().Local().Format(time.RFC3339), req.GetSigner().GetName(), req.GetSigner().GetRole())
		return nil
	}
	if _, err := h.client.Reply(callCtx, req); err != nil {
		if retryable(err) {
			return err
		}
		// e.g. FAILED_PRECONDITION: the deadline passed meanwhile.
		log.Printf("consultation %s: reply refused: %s", id, status.Convert(err).Message())
		return nil
	}
	log.Printf("consultation %s: replied %s", id, req.GetPosition())
	return nil
}

// loadState reads the last sequence handled; a missing file means 0.
func loadState(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the state file: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the state file %s does not hold a sequence number (%v): fix it or start with -after N", path, err)
	}
	return n, nil
}

// saveState writes the sequence to a temporary file, syncs it and renames
// it over the state file, so a crash leaves either the old or the new
// number, never a torn one.
func saveState(path string, seq uint64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := fmt.Fprintf(tmp, "%d\n", seq); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	return nil
}
