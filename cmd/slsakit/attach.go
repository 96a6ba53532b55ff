package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

func runAttach(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("attach", "--envelope FILE --image REF [flags]", stderr)
	envelope := fs.String("envelope", "", "signed envelopes (.intoto.jsonl or DSSE JSON) to attach")
	image := fs.String("image", "", "image to attach to; a tag is resolved to its digest once")
	recursive := fs.Bool("recursive", false, "when --image names an index, attach to it and to every platform image it lists (the statement must name them all)")
	var reg registryFlags
	reg.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *envelope == "" || *image == "" {
		return usagef("--envelope and --image are required")
	}
	opts, err := reg.options(ctx, *image)
	if err != nil {
		return err
	}
	if *recursive {
		opts = append(opts, oci.WithRecursive())
	}
	f, err := os.Open(*envelope)
	if err != nil {
		return err
	}
	defer f.Close()
	envs, err := sign.ReadJSONL(f)
	if err != nil {
		return err
	}
	for _, env := range envs {
		res, err := oci.Attach(ctx, *image, &sign.Attestation{Envelope: env}, opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "attached to %s\n", res.Image)
		for _, m := range res.Manifests {
			fmt.Fprintf(stdout, "attached to %s\n", m.Image)
		}
	}
	return nil
}
