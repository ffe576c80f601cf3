// compose-config loads Compose files with compose-go, the loader Docker Compose itself uses: it
// validates them against the Compose specification's JSON schema, interpolates variables,
// checks references (secrets, volumes, networks) and prints the resulting project as JSON.
// A file that breaks the specification exits 1 with the loader's message.
//
//	go run . -f ../../../deploy/compose.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var paths files
	flag.Var(&paths, "f", "a Compose file (repeatable; later files override earlier ones)")
	flag.Parse()
	if len(paths) == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-config -f compose.yaml [-f override.yaml]")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(paths, cli.WithOsEnv, cli.WithDotEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
