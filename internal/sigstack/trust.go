package sigstack

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// material is what the running services trust with, read back from them.
type material struct {
	caChain    []*x509.Certificate // intermediates…, root
	tsaChain   []*x509.Certificate // leaf, intermediates…, root
	rekorV1Key crypto.PublicKey
	rekorV2Key crypto.PublicKey
}

// assembleTrust reads the live CA bundle and TSA chain, then builds the
// trusted root and signing config and writes them to Dir.
func (s *Stack) assembleTrust(ctx context.Context) error {
	if s.FulcioURL != "" {
		b, err := httpGet(ctx, s.FulcioURL+"/api/v2/trustBundle")
		if err != nil {
			return fmt.Errorf("%w: fulcio trust bundle: %v", ErrTrust, err)
		}
		var tb struct {
			Chains []struct {
				Certificates []string `json:"certificates"`
			} `json:"chains"`
		}
		if err := json.Unmarshal(b, &tb); err != nil || len(tb.Chains) == 0 {
			return fmt.Errorf("%w: fulcio trust bundle %q: %v", ErrTrust, b, err)
		}
		for _, c := range tb.Chains[0].Certificates {
			certs, err := parseCerts([]byte(c))
			if err != nil {
				return fmt.Errorf("%w: fulcio trust bundle: %v", ErrTrust, err)
			}
			s.mat.caChain = append(s.mat.caChain, certs...)
		}
		if len(s.mat.caChain) == 0 {
			return fmt.Errorf("%w: fulcio trust bundle has no certificate", ErrTrust)
		}
	}
	if s.TSAURL != "" {
		b, err := httpGet(ctx, s.TSAURL+"/certchain")
		if err != nil {
			return fmt.Errorf("%w: tsa chain: %v", ErrTrust, err)
		}
		if s.mat.tsaChain, err = parseCerts(b); err != nil || len(s.mat.tsaChain) == 0 {
			return fmt.Errorf("%w: tsa chain %q: %v", ErrTrust, b, err)
		}
	}
	tr, err := s.trustedRootJSON()
	if err != nil {
		return err
	}
	s.trustedRoot = tr
	s.signingConfig = s.signingConfigJSON(s.services & (RekorV1 | RekorV2))
	s.TrustedRootPath = filepath.Join(s.Dir, "trusted_root.json")
	s.SigningConfigPath = filepath.Join(s.Dir, "signing_config.json")
	if err := os.WriteFile(s.TrustedRootPath, s.trustedRoot, 0o644); err != nil {
		return fmt.Errorf("%w: %v", ErrTrust, err)
	}
	if err := os.WriteFile(s.SigningConfigPath, s.signingConfig, 0o644); err != nil {
		return fmt.Errorf("%w: %v", ErrTrust, err)
	}
	return nil
}

// validFrom is the start of every validity period in the trusted root and
// signing config: before the stack started, so that nothing the services
// issue predates it (Fulcio's ephemeral CA is valid from its own start).
func (s *Stack) validFrom() time.Time { return s.start.Add(-time.Hour).Truncate(time.Second) }

func (s *Stack) trustedRootJSON() ([]byte, error) {
	from := s.validFrom()
	var cas []root.CertificateAuthority
	if n := len(s.mat.caChain); n > 0 {
		cas = append(cas, &root.FulcioCertificateAuthority{
			Root: s.mat.caChain[n-1], Intermediates: s.mat.caChain[:n-1], ValidityPeriodStart: from, URI: s.FulcioURL,
		})
	}
	var tsas []root.TimestampingAuthority
	if n := len(s.mat.tsaChain); n > 0 {
		tsa := &root.SigstoreTimestampingAuthority{Root: s.mat.tsaChain[n-1], ValidityPeriodStart: from, URI: s.TSAURL}
		if n > 1 {
			tsa.Leaf = s.mat.tsaChain[0]
			tsa.Intermediates = s.mat.tsaChain[1 : n-1]
		}
		tsas = append(tsas, tsa)
	}
	logs := map[string]*root.TransparencyLog{}
	for _, l := range []struct {
		url string
		key crypto.PublicKey
	}{{s.RekorV1URL, s.mat.rekorV1Key}, {s.RekorV2URL, s.mat.rekorV2Key}} {
		if l.url == "" {
			continue
		}
		// The log ID of both versions is SHA-256 of the key's DER
		// (Rekor v2: the C2SP signed-note key hash, which for ECDSA is
		// the same).
		der, err := x509.MarshalPKIXPublicKey(l.key)
		if err != nil {
			return nil, fmt.Errorf("%w: log key: %v", ErrTrust, err)
		}
		id := sha256.Sum256(der)
		logs[hex.EncodeToString(id[:])] = &root.TransparencyLog{
			BaseURL: l.url, ID: id[:], ValidityPeriodStart: from, HashFunc: crypto.SHA256,
			PublicKey: l.key, SignatureHashFunc: crypto.SHA256,
		}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, map[string]*root.TransparencyLog{}, tsas, logs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrust, err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrust, err)
	}
	return b, nil
}

// signingConfigJSON names Fulcio, the issuer, the TSA and the running logs
// among logs, each with its API version.
func (s *Stack) signingConfigJSON(logs Service) []byte {
	from := s.validFrom().UTC().Format(time.RFC3339)
	svc := func(url string, version int) map[string]any {
		return map[string]any{"url": url, "majorApiVersion": version, "operator": "sigstack",
			"validFor": map[string]any{"start": from}}
	}
	doc := map[string]any{
		"mediaType":       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"oidcUrls":        []any{svc(s.Issuer.URL(), 1)},
		"rekorTlogConfig": map[string]any{"selector": "ANY"},
		"tsaConfig":       map[string]any{"selector": "ANY"},
	}
	if s.FulcioURL != "" {
		doc["caUrls"] = []any{svc(s.FulcioURL, 1)}
	}
	var tlogs []any
	if logs&RekorV1 != 0 && s.RekorV1URL != "" {
		tlogs = append(tlogs, svc(s.RekorV1URL, 1))
	}
	if logs&RekorV2 != 0 && s.RekorV2URL != "" {
		tlogs = append(tlogs, svc(s.RekorV2URL, 2))
	}
	if len(tlogs) > 0 {
		doc["rekorTlogUrls"] = tlogs
	}
	if s.TSAURL != "" {
		doc["tsaUrls"] = []any{svc(s.TSAURL, 1)}
	}
	b, _ := json.Marshal(doc) // maps of strings and ints: cannot fail
	return b
}

// WriteSigningConfig writes SigningConfigFor(logs) to a file in Dir and
// returns its path.
func (s *Stack) WriteSigningConfig(logs Service) (string, error) {
	p := filepath.Join(s.Dir, fmt.Sprintf("signing_config-%s.json", logs))
	if err := os.WriteFile(p, s.SigningConfigFor(logs), 0o644); err != nil {
		return "", fmt.Errorf("%w: %v", ErrTrust, err)
	}
	return p, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}
