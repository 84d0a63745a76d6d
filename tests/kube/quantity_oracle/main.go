// Command quantity_oracle prints what Kubernetes' resource.ParseQuantity makes
// of each input, so that Discoblocks' C++ parser can be checked against it.
//
// The inputs file holds one Go-quoted string per line ("1Gi", "\x00");
// blank lines and lines starting with # are skipped. The output is a TSV
// table: the Go-quoted input, a tab, then the quantity's canonical string
// (what Quantity.String() prints) or the word error.
//
//	quantity_oracle INPUTS            print the table
//	quantity_oracle -check TABLE INPUTS
//	                                  exit 1, showing the differing lines,
//	                                  if TABLE is not what INPUTS give
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

func main() {
	check := flag.String("check", "", "compare the table in this file with the one computed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: quantity_oracle [-check TABLE] INPUTS")
		os.Exit(2)
	}
	table, err := makeTable(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *check == "" {
		os.Stdout.WriteString(table)
		return
	}
	want, err := os.ReadFile(*check)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if !bytes.Equal(want, []byte(table)) {
		fmt.Fprintf(os.Stderr, "%s is not what Kubernetes makes of %s:\n", *check, flag.Arg(0))
		diff(strings.Split(string(want), "\n"), strings.Split(table, "\n"))
		fmt.Fprintln(os.Stderr, "regenerate it with: go run . INPUTS > TABLE")
		os.Exit(1)
	}
}

// makeTable reads the inputs and returns the table for them.
func makeTable(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	var out strings.Builder
	scanner := bufio.NewScanner(file)
	scanner.Buffer(nil, 1<<20)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		input, err := strconv.Unquote(text)
		if err != nil {
			return "", fmt.Errorf("%s:%d: not a Go-quoted string: %s", path, line, text)
		}
		result := "error"
		if quantity, err := resource.ParseQuantity(input); err == nil {
			result = quantity.String()
		}
		fmt.Fprintf(&out, "%s\t%s\n", strconv.Quote(input), result)
	}
	return out.String(), scanner.Err()
}

// diff prints the lines that differ, position by position (the tables are
// line-aligned: one row per input).
func diff(want, got []string) {
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(os.Stderr, "line %d:\n  table:      %s\n  kubernetes: %s\n", i+1, w, g)
		}
	}
}
