package sign

import "errors"

// Errors returned by key handling, signing and verification. Match them with
// errors.Is; the returned errors wrap them with detail (never key material).
var (
	// ErrInvalidSignature is returned when a signature does not verify.
	ErrInvalidSignature = errors.New("sign: invalid signature")
	// ErrAlgorithmMismatch is returned when an algorithm does not fit a key:
	// an RSA algorithm for an EC key, or P-384 for a P-256 key.
	ErrAlgorithmMismatch = errors.New("sign: algorithm does not match key")
	// ErrUnsupportedAlgorithm is returned for an algorithm name slsakit does
	// not know.
	ErrUnsupportedAlgorithm = errors.New("sign: unsupported algorithm")
	// ErrWeakKey is returned for an RSA key shorter than MinRSABits.
	ErrWeakKey = errors.New("sign: key too weak")
	// ErrUnsupportedKey is returned for a key type, curve or file format
	// slsakit does not sign or verify with.
	ErrUnsupportedKey = errors.New("sign: unsupported key")
	// ErrMalformedKey is returned for key or certificate bytes that do not
	// parse.
	ErrMalformedKey = errors.New("sign: malformed key")
	// ErrNoPEM is returned when input holds no PEM block of a usable type.
	ErrNoPEM = errors.New("sign: no PEM block found")
	// ErrPasswordRequired is returned when a key file is encrypted and no
	// password source was given, or the named environment variable is unset.
	ErrPasswordRequired = errors.New("sign: key is encrypted and no password was given")
	// ErrWrongPassword is returned when an encrypted key does not decrypt
	// with the password given.
	ErrWrongPassword = errors.New("sign: wrong password or corrupted key")
)
