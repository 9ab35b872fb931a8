// Command tacit runs the tacit service (`tacit serve`) and is its client.
package main

import (
	"os"

	"github.com/tacit-gov/tacit/pkg/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
