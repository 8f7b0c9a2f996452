// osv-grype-db writes a grype vulnerability database (schema v6) from OSV records, through grype's own OSV
// transformer and database writer, so that the result is what grype's builders make from the same records. It is
// how an offline machine gets a real database: the Go vulnerability database (golang.org/x/vulndb, data/osv) is a
// Go module, which the Go module proxy serves.
//
//	osv-grype-db -out DIR -provider NAME -source TEXT OSV_DIR_OR_FILE...
//
// DIR receives vulnerability.db and import.json (what `grype db import` takes, archived).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/anchore/grype/grype/db/processors"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"
	v6build "github.com/anchore/grype/grype/db/v6/build"
	"github.com/anchore/grype/grype/db/v6/build/transformers/osv"
)

var version = "dev"

func main() {
	out := flag.String("out", "", "directory to write vulnerability.db and import.json into")
	name := flag.String("provider", "govulndb", "provider name recorded in the database")
	source := flag.String("source", "", "where the records come from, recorded in import.json")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("osv-grype-db", version)
		return
	}
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: osv-grype-db -out DIR [-provider NAME] [-source TEXT] OSV_DIR_OR_FILE...")
		os.Exit(2)
	}
	files, err := osvFiles(flag.Args())
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no OSV record (*.json) in %s", strings.Join(flag.Args(), ", "))
	}
	if err == nil {
		err = build(*out, *name, *source, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "osv-grype-db:", err)
		os.Exit(1)
	}
}

// osvFiles lists the *.json files of the arguments, directories expanded one level, in a stable order.
func osvFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, arg)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(arg, "*.json"))
		if err != nil {
			return nil, err
		}
		files = append(files, matches...)
	}
	sort.Strings(files)
	return files, nil
}

func build(out, name, source string, files []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// The writer refuses to add to a database: a new one each time.
	if err := os.Remove(filepath.Join(out, v6.VulnerabilityDBFileName)); err != nil && !os.IsNotExist(err) {
		return err
	}
	state := provider.State{Provider: name, Version: 1, Processor: "osv-grype-db " + version, Timestamp: time.Now().UTC()}
	writer, err := v6build.NewWriter(out, provider.States{state}, false, 0)
	if err != nil {
		return err
	}
	processor := processors.NewV2OSVProcessor(osv.Transform)
	entries := 0
	for _, path := range files {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		processed, err := processor.Process(file, state)
		file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := writer.Write(processed...); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		entries += len(processed)
	}
	// Close reconciles and flushes, then drops the indexes; grype's own builds restore them before publishing.
	if err := writer.Close(); err != nil {
		return err
	}
	if err := v6.Hydrater()(out); err != nil {
		return fmt.Errorf("restoring the indexes: %w", err)
	}
	metadata, err := v6.WriteImportMetadata(afero.NewOsFs(), out, source)
	if err != nil {
		return fmt.Errorf("writing import.json: %w", err)
	}
	fmt.Printf("%d OSV records, %d database entries: %s (%s)\n", len(files), entries,
		filepath.Join(out, v6.VulnerabilityDBFileName), metadata.Digest)
	return nil
}
