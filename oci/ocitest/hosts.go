package ocitest

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// HostsTransport returns a transport that connects to hosts[name] (a
// loopback "127.0.0.1:port") whenever a URL names host name, whatever
// its port, and refuses every other host. Tests use it to give loopback
// servers real registry names (ghcr.io, us-docker.pkg.dev) and to serve
// a registry and its blob storage on a name and its subdomain. Set its
// TLSClientConfig to reach TLS servers.
func HostsTransport(hosts map[string]string) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		to, ok := hosts[host]
		if !ok {
			return nil, errors.New("ocitest: HostsTransport: unknown host " + host)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
	return tr
}
