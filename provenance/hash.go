package provenance

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/slsakit/slsakit/intoto"
)

// hashBufferSize is the read size of the hashing loop: large enough that
// system-call overhead disappears next to SHA-256 throughput.
const hashBufferSize = 512 << 10

// HashOption configures hashing.
type HashOption func(*hashConfig)

type hashConfig struct {
	sha512  bool
	workers int
}

// WithSHA512 adds a SHA-512 digest, computed in the same pass as SHA-256.
func WithSHA512() HashOption { return func(c *hashConfig) { c.sha512 = true } }

// WithWorkers sets how many files HashDir hashes at once (default
// GOMAXPROCS). Values below 1 mean the default.
func WithWorkers(n int) HashOption { return func(c *hashConfig) { c.workers = n } }

func newHashConfig(opts []HashOption) hashConfig {
	var c hashConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.workers < 1 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// HashReader streams r through SHA-256 (and SHA-512 with WithSHA512) in one
// pass and constant memory, and returns the digests.
func HashReader(r io.Reader, opts ...HashOption) (intoto.DigestSet, error) {
	d, _, err := hashStream(context.Background(), r, newHashConfig(opts), make([]byte, hashBufferSize))
	return d, err
}

func hashStream(ctx context.Context, r io.Reader, c hashConfig, buf []byte) (intoto.DigestSet, int64, error) {
	if c.sha512 {
		return hashStreamPair(ctx, r, buf)
	}
	h256 := sha256.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, n, err
		}
		m, err := r.Read(buf)
		if m > 0 {
			h256.Write(buf[:m])
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, n, err
		}
	}
	return intoto.DigestSet{intoto.AlgSHA256: hex.EncodeToString(h256.Sum(nil))}, n, nil
}

// hashStreamPair computes SHA-256 and SHA-512 in one pass over r. SHA-512
// runs in a second goroutine over the same buffers, so on two free cores
// the pair costs about as much as SHA-512 alone. Two buffers rotate: one is
// filled while the other may still be under SHA-512. A buffer goes back to
// the free list only once SHA-512 is done with it, and the reader takes one
// only after SHA-256 of the previous chunk has returned, so no buffer is
// written while being hashed.
func hashStreamPair(ctx context.Context, r io.Reader, buf []byte) (intoto.DigestSet, int64, error) {
	h256, h512 := sha256.New(), sha512.New()
	free := make(chan []byte, 2)
	free <- buf
	free <- make([]byte, len(buf))
	work := make(chan []byte, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range work {
			h512.Write(b)
			free <- b[:cap(b)]
		}
	}()
	finish := func() { close(work); <-done }
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			finish()
			return nil, n, err
		}
		b := <-free
		m, err := r.Read(b)
		if m > 0 {
			work <- b[:m]
			h256.Write(b[:m])
			n += int64(m)
		} else {
			free <- b
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			finish()
			return nil, n, err
		}
	}
	finish()
	return intoto.DigestSet{
		intoto.AlgSHA256: hex.EncodeToString(h256.Sum(nil)),
		intoto.AlgSHA512: hex.EncodeToString(h512.Sum(nil)),
	}, n, nil
}

// HashFile hashes the file at path by streaming, as HashReader does, and
// stops when ctx is done.
func HashFile(ctx context.Context, path string, opts ...HashOption) (intoto.DigestSet, error) {
	d, _, err := hashFile(ctx, path, newHashConfig(opts))
	return d, err
}

// hashFile is HashFile with the byte count, which the tests check.
func hashFile(ctx context.Context, path string, c hashConfig) (intoto.DigestSet, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return hashStream(ctx, f, c, make([]byte, hashBufferSize))
}

// HashDir hashes every regular file under dir in parallel (GOMAXPROCS
// workers by default, see WithWorkers) and returns one descriptor per file,
// named by its slash-separated path relative to dir and sorted by name.
//
// Directory rules, shared with DirMaterial and AddSubjectDir:
//   - regular files are hashed;
//   - a symlink to a regular file inside dir is hashed under the link's
//     name; a symlink whose target lies outside dir fails with
//     ErrSymlinkEscape (all access goes through os.Root, so no path, link or
//     "..", can reach outside dir); symlinks to directories are not
//     followed;
//   - other non-regular files (sockets, pipes, devices) and empty
//     directories are skipped.
func HashDir(ctx context.Context, dir string, opts ...HashOption) ([]intoto.ResourceDescriptor, error) {
	c := newHashConfig(opts)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	names, err := listFiles(ctx, root)
	if err != nil {
		return nil, err
	}
	out := make([]intoto.ResourceDescriptor, len(names))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	workers := min(c.workers, max(len(names), 1))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, hashBufferSize)
			for i := range jobs {
				d, err := hashRootFile(ctx, root, names[i], c, buf)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				out[i] = intoto.ResourceDescriptor{Name: names[i], Digest: d}
			}
		}()
	}
feed:
	for i := range names {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func hashRootFile(ctx context.Context, root *os.Root, name string, c hashConfig, buf []byte) (intoto.DigestSet, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", name, err)
	}
	if !st.Mode().IsRegular() { // replaced after listing
		return nil, fmt.Errorf("hash %s: %w: no longer a regular file", name, fs.ErrInvalid)
	}
	d, _, err := hashStream(ctx, f, c, buf)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", name, err)
	}
	return d, nil
}

// listFiles walks root and returns the sorted slash-separated names of the
// files HashDir hashes (see its rules).
func listFiles(ctx context.Context, root *os.Root) ([]string, error) {
	var names []string
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t := d.Type()
		switch {
		case t.IsDir():
			return nil
		case t.IsRegular():
			names = append(names, p)
		case t&fs.ModeSymlink != 0:
			st, err := root.Stat(p) // follows the link, confined to root
			if err != nil {
				if isEscape(err) {
					return fmt.Errorf("%w: %s", ErrSymlinkEscape, p)
				}
				return fmt.Errorf("%s: %w", p, err)
			}
			if st.Mode().IsRegular() {
				names = append(names, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if strings.ContainsAny(n, "\n") || path.Clean(n) != n {
			return nil, fmt.Errorf("%w: unusable file name %q", fs.ErrInvalid, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// isEscape reports whether err is os.Root refusing a path outside the root.
// A dangling link also lands here when its target is outside root.
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && strings.Contains(pe.Err.Error(), "escapes from parent") {
		return true
	}
	return strings.Contains(err.Error(), "path escapes")
}
