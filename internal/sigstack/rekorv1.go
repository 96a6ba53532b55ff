package sigstack

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// startRekorV1 runs Rekor v1 the only way its binaries allow: on Trillian,
// whose binaries have no in-memory storage, on MariaDB. All three are this
// test's own processes on loopback (MariaDB with its own data directory,
// socket and port; the system service is never used). Rekor creates its
// Trillian tree itself when given no tree ID, so no admin client is
// needed.
func (s *Stack) startRekorV1(ctx context.Context, bins binaries, add func(*proc), tsaReady <-chan struct{}) error {
	dir, err := s.serviceDir("rekor-v1")
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, "mysql.sock")
	if err := s.startMariaDB(ctx, bins, add, dir, sock); err != nil {
		return err
	}
	mysqlURI := "root@unix(" + sock + ")/trillian"

	var rpcPort int
	trillian := func(name, bin string, extra ...string) error {
		p, err := withRetry(func() (*proc, error) {
			ports, err := freePorts(2)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrStart, name, err)
			}
			args := append([]string{"--storage_system=mysql", "--mysql_uri=" + mysqlURI,
				"--rpc_endpoint=" + hostPort(ports[0]), "--http_endpoint=" + hostPort(ports[1])}, extra...)
			p, err := startProc(s.Dir, name, bin, args)
			if err != nil {
				return nil, err
			}
			if err := p.waitReady(ctx, httpOK("http://"+hostPort(ports[1])+"/healthz")); err != nil {
				p.stop()
				return nil, err
			}
			if name == "trillian-log-server" {
				rpcPort = ports[0]
			}
			return p, nil
		})
		if err != nil {
			return err
		}
		add(p)
		return nil
	}
	if err := trillian("trillian-log-server", bins[EnvTrillianServer]); err != nil {
		return err
	}
	// --force_master: no election (there is one signer); a short
	// sequencer interval makes new entries land quickly.
	if err := trillian("trillian-log-signer", bins[EnvTrillianSigner], "--force_master", "--sequencer_interval=50ms"); err != nil {
		return err
	}

	select {
	case <-tsaReady:
	case <-ctx.Done():
		return fmt.Errorf("%w: rekor v1: waiting for the TSA: %v", ErrStart, ctx.Err())
	}
	p, err := withRetry(func() (*proc, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, fmt.Errorf("%w: rekor v1: %v", ErrStart, err)
		}
		p, err := startProc(s.Dir, "rekor-v1", bins[EnvRekorV1], []string{"serve",
			"--trillian_log_server.address=127.0.0.1", "--trillian_log_server.port=" + strconv.Itoa(rpcPort),
			"--rekor_server.address=127.0.0.1", "--port=" + strconv.Itoa(ports[0]),
			"--rekor_server.hostname=127.0.0.1", "--rekor_server.signer=memory",
			// The retrieve API needs Redis; signing and verifying do not.
			"--enable_retrieve_api=false", "--log_type=dev",
		})
		if err != nil {
			return nil, err
		}
		url := "http://" + hostPort(ports[0])
		var keyPEM []byte
		ready := func(ctx context.Context) error {
			b, err := httpGet(ctx, url+"/api/v1/log/publicKey")
			if err != nil {
				return err
			}
			keyPEM = b
			return nil
		}
		if err := p.waitReady(ctx, ready); err != nil {
			p.stop()
			return nil, err
		}
		blk, _ := pem.Decode(keyPEM)
		if blk == nil {
			p.stop()
			return nil, fmt.Errorf("%w: rekor v1 public key is not PEM: %q", ErrTrust, keyPEM)
		}
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("%w: rekor v1 public key: %v", ErrTrust, err)
		}
		s.mat.rekorV1Key = pub
		s.RekorV1URL = url
		return p, nil
	})
	if err != nil {
		return err
	}
	add(p)
	return nil
}

// startMariaDB initialises a data directory, runs mariadbd on it (socket
// and a loopback port) and loads Trillian's schema into database trillian.
func (s *Stack) startMariaDB(ctx context.Context, bins binaries, add func(*proc), dir, sock string) error {
	data := filepath.Join(dir, "data")
	// mariadbd refuses to run as root unless told to.
	var asUser []string
	if os.Geteuid() == 0 {
		asUser = []string{"--user=root"}
	}
	install := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"}, asUser...)
	if err := s.runLogged(ctx, "mariadb-install-db", bins[EnvMariaDBInstall], install, ""); err != nil {
		return err
	}
	p, err := withRetry(func() (*proc, error) {
		ports, err := freePorts(1)
		if err != nil {
			return nil, fmt.Errorf("%w: mariadbd: %v", ErrStart, err)
		}
		_ = os.Remove(sock)
		p, err := startProc(s.Dir, "mariadbd", bins[EnvMariaDBD], append([]string{"--no-defaults",
			"--datadir=" + data, "--socket=" + sock, "--port=" + strconv.Itoa(ports[0]),
			"--bind-address=127.0.0.1", "--skip-name-resolve", "--pid-file=" + filepath.Join(dir, "mysqld.pid"),
			// A throw-away database: durability buys nothing.
			"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-buffer-pool-size=32M",
		}, asUser...))
		if err != nil {
			return nil, err
		}
		ready := func(ctx context.Context) error {
			return exec.CommandContext(ctx, bins[EnvMariaDBClient], "--no-defaults", "--socket="+sock,
				"--user=root", "-e", "SELECT 1").Run()
		}
		if err := p.waitReady(ctx, ready); err != nil {
			p.stop()
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return err
	}
	add(p)
	client := []string{"--no-defaults", "--socket=" + sock, "--user=root"}
	if err := s.runLogged(ctx, "mariadb-schema", bins[EnvMariaDBClient], append(client, "-e", "CREATE DATABASE trillian"), ""); err != nil {
		return err
	}
	return s.runLogged(ctx, "mariadb-schema", bins[EnvMariaDBClient], append(client, "trillian"), bins[EnvTrillianSchema])
}

// runLogged runs a short-lived command to completion, its output appended
// to Dir/name.log, stdin from the file stdin if not empty.
func (s *Stack) runLogged(ctx context.Context, name, bin string, args []string, stdin string) error {
	logPath := filepath.Join(s.Dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStart, name, err)
	}
	defer f.Close()
	fmt.Fprintf(f, "### %s %q\n", bin, args)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if stdin != "" {
		in, err := os.Open(stdin)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrStart, name, err)
		}
		defer in.Close()
		cmd.Stdin = in
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s %s: %v; output:\n%s", ErrStart, name, strings.Join(args, " "), err, tailFile(logPath, 4<<10))
	}
	return nil
}
