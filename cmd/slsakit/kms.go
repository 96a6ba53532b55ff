package main

import (
	"net"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/slsakit/slsakit/kms"
)

// kmsOptions returns the KMS client options for an endpoint: none for the
// default (Cloud KMS with Application Default Credentials); a loopback
// endpoint is a test server, reached in plaintext without credentials.
func kmsOptions(endpoint string) kms.Option {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
		host, _, err := net.SplitHostPort(endpoint)
		if ip := net.ParseIP(host); err == nil && (host == "localhost" || ip != nil && ip.IsLoopback()) {
			opts = append(opts, option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}
	return kms.WithClientOptions(opts...)
}
