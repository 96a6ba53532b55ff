//go:build linux

package sign_test

import (
	"crypto/ecdsa"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/slsakit/slsakit/sign"
)

// clockThreadCPUTimeID is CLOCK_THREAD_CPUTIME_ID from <time.h>.
const clockThreadCPUTimeID = 3

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		b.Skipf("clock_gettime(CLOCK_THREAD_CPUTIME_ID): %v", errno)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkEnvelope10KBThreadCPU is BenchmarkEnvelope10KB/ratio measured in
// CPU time of the benchmark's own (locked) thread instead of wall time, so
// that other processes on a shared machine do not skew the ratio. Work the
// runtime does on other threads (background GC) is not counted.
func BenchmarkEnvelope10KBThreadCPU(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	key := keyFor(sign.ECDSAP256SHA256).(*ecdsa.PrivateKey)
	s := signerFor(b, sign.ECDSAP256SHA256)
	v, err := sign.VerifierFor(s)
	if err != nil {
		b.Fatal(err)
	}
	payload := payload10K()
	pae := sign.PAE(sign.PayloadTypeInToto, payload)
	var env, floor time.Duration
	n := 0
	for b.Loop() {
		t0 := threadCPU(b)
		if n%2 == 0 {
			envelopeOnce(b, s, v, payload)
			t1 := threadCPU(b)
			floorOnce(b, key, pae)
			env, floor = env+t1-t0, floor+threadCPU(b)-t1
		} else {
			floorOnce(b, key, pae)
			t1 := threadCPU(b)
			envelopeOnce(b, s, v, payload)
			floor, env = floor+t1-t0, env+threadCPU(b)-t1
		}
		n++
	}
	b.ReportMetric(float64(env.Nanoseconds())/float64(n), "envelope-cpu-ns/op")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(n), "floor-cpu-ns/op")
	b.ReportMetric(float64(env)/float64(floor), "ratio")
}
