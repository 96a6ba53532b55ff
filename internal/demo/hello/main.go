// Command hello is the program quickstart builds and ships in its release
// tarball and image; quickstart embeds this source and builds it with the
// local Go toolchain.
package main

import "fmt"

func main() { fmt.Println("hello, supply chain") }
