package sigstack

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// startFulcio runs Fulcio with an ephemeral CA and no CT log (so its
// certificates carry no SCT), trusting the stack's two issuers.
func (s *Stack) startFulcio(ctx context.Context, bins binaries, add func(*proc)) error {
	dir, err := s.serviceDir("fulcio")
	if err != nil {
		return err
	}
	// JSON is YAML; Fulcio reads either. Plain-http issuer URLs are
	// accepted.
	cfg := fmt.Sprintf(`{"OIDCIssuers": {
  %q: {"IssuerURL": %q, "ClientID": "sigstore", "Type": "email"},
  %q: {"IssuerURL": %q, "ClientID": "sigstore", "Type": "github-workflow"}
}}`, s.Issuer.URL(), s.Issuer.URL(), s.GitHubIssuer.URL(), s.GitHubIssuer.URL())
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("%w: fulcio: %v", ErrStart, err)
	}
	p, err := withRetry(func() (*proc, error) {
		ports, err := freePorts(3)
		if err != nil {
			return nil, fmt.Errorf("%w: fulcio: %v", ErrStart, err)
		}
		p, err := startProc(s.Dir, "fulcio", bins[EnvFulcio], []string{"serve",
			"--ca", "ephemeralca", "--ct-log-url=", "--config-path", cfgPath, "--log_type", "dev",
			"--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
			"--grpc-host", "127.0.0.1", "--grpc-port", strconv.Itoa(ports[1]),
			"--metrics-port", strconv.Itoa(ports[2]),
			// The default is an abstract socket shared by every Fulcio on
			// the machine: give each its own.
			"--legacy-unix-domain-socket", filepath.Join(dir, "legacy-"+strconv.Itoa(ports[0])+".sock"),
		})
		if err != nil {
			return nil, err
		}
		url := "http://" + hostPort(ports[0])
		if err := p.waitReady(ctx, httpOK(url+"/api/v2/trustBundle")); err != nil {
			p.stop()
			return nil, err
		}
		s.FulcioURL = url
		return p, nil
	})
	if err != nil {
		return err
	}
	add(p)
	return nil
}

// startTSA runs the timestamp authority with an in-memory signer. Ready
// means its chain is served and it holds :2112 (see MetricsLockName).
func (s *Stack) startTSA(ctx context.Context, bins binaries, add func(*proc)) error {
	p, err := withRetry(func() (*proc, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, fmt.Errorf("%w: tsa: %v", ErrStart, err)
		}
		p, err := startProc(s.Dir, "tsa", bins[EnvTSA], []string{"serve",
			"--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
			"--timestamp-signer", "memory", "--disable-ntp-monitoring", "--cleanup-timeout=1s",
		})
		if err != nil {
			return nil, err
		}
		base := "http://" + hostPort(ports[0])
		ready := func(ctx context.Context) error {
			if _, err := httpGet(ctx, base+"/api/v1/timestamp/certchain"); err != nil {
				return err
			}
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:2112")
			if err != nil {
				return fmt.Errorf("metrics port: %w", err)
			}
			return c.Close()
		}
		if err := p.waitReady(ctx, ready); err != nil {
			p.stop()
			return nil, err
		}
		s.TSAURL = base + "/api/v1/timestamp"
		return p, nil
	})
	if err != nil {
		return err
	}
	add(p)
	return nil
}

// startRekorV2 runs rekor-tiles on POSIX storage with a P-256 key made
// here. Its --hostname is the checkpoint origin, which verifiers take
// from the host of the log's URL in the trusted root: 127.0.0.1.
func (s *Stack) startRekorV2(ctx context.Context, bins binaries, add func(*proc)) error {
	dir, err := s.serviceDir("rekor-v2")
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: rekor v2 key: %v", ErrStart, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("%w: rekor v2 key: %v", ErrStart, err)
	}
	keyPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("%w: rekor v2 key: %v", ErrStart, err)
	}
	s.mat.rekorV2Key = &key.PublicKey
	attempt := 0
	p, err := withRetry(func() (*proc, error) {
		attempt++
		ports, err := freePorts(3)
		if err != nil {
			return nil, fmt.Errorf("%w: rekor v2: %v", ErrStart, err)
		}
		p, err := startProc(s.Dir, "rekor-v2", bins[EnvRekorV2], []string{"serve",
			"--hostname=127.0.0.1",
			"--http-address=127.0.0.1", "--http-port=" + strconv.Itoa(ports[0]),
			"--grpc-address=127.0.0.1", "--grpc-port=" + strconv.Itoa(ports[1]),
			"--http-metrics-port=" + strconv.Itoa(ports[2]),
			"--storage-dir=" + filepath.Join(dir, "log"+strconv.Itoa(attempt)),
			"--signer-filepath=" + keyPath,
			// Entries are integrated (and their inclusion proofs served)
			// within a batch age; checkpoints every second.
			"--checkpoint-interval=1s", "--batch-max-age=100ms",
		})
		if err != nil {
			return nil, err
		}
		url := "http://" + hostPort(ports[0])
		if err := p.waitReady(ctx, httpOK(url+"/healthz")); err != nil {
			p.stop()
			return nil, err
		}
		s.RekorV2URL = url
		return p, nil
	})
	if err != nil {
		return err
	}
	add(p)
	return nil
}

// untilCtx sleeps d or until ctx ends.
func untilCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
