package temporalconn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pemPair writes a self-signed certificate and its key into dir and returns their paths and PEM bytes.
func pemPair(t *testing.T, dir, name string) (certPath, keyPath string, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certPath, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certPath, keyPath, certPEM
}

// environment is a fake environment; no config file unless TEMPORAL_CONFIG_FILE says so.
func environment(t *testing.T, kv map[string]string) Options {
	t.Helper()
	if _, ok := kv["TEMPORAL_CONFIG_FILE"]; !ok {
		kv["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "none.toml")
	}
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := kv[k]; return v, ok },
		Environ: func() []string {
			var out []string
			for k, v := range kv {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

func TestPlaintextByDefault(t *testing.T) {
	co, err := ClientOptions(environment(t, map[string]string{}))
	require.NoError(t, err)
	require.Nil(t, co.ConnectionOptions.TLS)
	require.Nil(t, co.Credentials)
	require.Equal(t, DefaultAddress, co.HostPort)
	require.Equal(t, "default", co.Namespace)
	require.Equal(t, "plaintext", transport(co))
}

func TestFlagsWinOverEnvironmentAddress(t *testing.T) {
	opts := environment(t, map[string]string{"TEMPORAL_ADDRESS": "env:7233", "TEMPORAL_NAMESPACE": "envns"})
	co, err := ClientOptions(opts)
	require.NoError(t, err)
	require.Equal(t, "env:7233", co.HostPort)
	require.Equal(t, "envns", co.Namespace)
	opts.Address, opts.Namespace = "flag:7233", "flagns"
	co, err = ClientOptions(opts)
	require.NoError(t, err)
	require.Equal(t, "flag:7233", co.HostPort)
	require.Equal(t, "flagns", co.Namespace)
}

func TestAPIKeyTurnsTLSOn(t *testing.T) {
	co, err := ClientOptions(environment(t, map[string]string{"TEMPORAL_API_KEY": "secret-key"}))
	require.NoError(t, err)
	require.NotNil(t, co.ConnectionOptions.TLS, "an API key implies TLS, as for Temporal Cloud")
	require.NotNil(t, co.Credentials)
	require.Equal(t, "TLS + API key", transport(co))

	co, err = ClientOptions(environment(t, map[string]string{"TEMPORAL_API_KEY": "secret-key", "TEMPORAL_TLS": "false"}))
	require.NoError(t, err)
	require.True(t, co.ConnectionOptions.TLSDisabled, "TEMPORAL_TLS=false keeps an API key on plaintext")
	require.NotNil(t, co.Credentials)
}

func TestMutualTLSFromEitherNames(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := pemPair(t, dir, "client")
	ca, _, caPEM := pemPair(t, dir, "ca")
	for name, kv := range map[string]map[string]string{
		"cli":  {"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_KEY": key, "TEMPORAL_TLS_CA": ca, "TEMPORAL_TLS_SERVER_NAME": "temporal.example"},
		"sdk":  {"TEMPORAL_TLS_CLIENT_CERT_PATH": cert, "TEMPORAL_TLS_CLIENT_KEY_PATH": key, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca, "TEMPORAL_TLS_SERVER_NAME": "temporal.example"},
		"data": {"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_KEY": key, "TEMPORAL_TLS_CA_DATA": string(caPEM), "TEMPORAL_TLS_SERVER_NAME": "temporal.example"},
	} {
		t.Run(name, func(t *testing.T) {
			co, err := ClientOptions(environment(t, kv))
			require.NoError(t, err)
			c := co.ConnectionOptions.TLS
			require.NotNil(t, c)
			require.Len(t, c.Certificates, 1)
			require.NotNil(t, c.RootCAs)
			require.Equal(t, "temporal.example", c.ServerName)
			require.False(t, c.InsecureSkipVerify)
			require.Equal(t, "mTLS", transport(co))
		})
	}
}

func TestProfileFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "from-file"
`), 0o600))
	co, err := ClientOptions(environment(t, map[string]string{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud"}))
	require.NoError(t, err)
	require.Equal(t, "ns.acct.tmprl.cloud:7233", co.HostPort)
	require.Equal(t, "ns.acct", co.Namespace)
	require.NotNil(t, co.ConnectionOptions.TLS)
	require.NotNil(t, co.Credentials)

	_, err = ClientOptions(environment(t, map[string]string{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "nope"}))
	require.ErrorContains(t, err, "nope")
	require.ErrorContains(t, err, "TEMPORAL_PROFILE")
}

func TestBadTLSSettingsSayWhat(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := pemPair(t, dir, "client")
	for name, c := range map[string]struct {
		kv   map[string]string
		want string
	}{
		"cert without key":  {map[string]string{"TEMPORAL_TLS_CERT": cert}, "TEMPORAL_TLS_"},
		"missing CA file":   {map[string]string{"TEMPORAL_TLS_CA": filepath.Join(dir, "nope.pem")}, "nope.pem"},
		"key is not a cert": {map[string]string{"TEMPORAL_TLS_CERT": key, "TEMPORAL_TLS_KEY": key}, "TEMPORAL_TLS_"},
		"both names differ": {map[string]string{"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_CLIENT_CERT_PATH": key}, "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CERT"},
	} {
		t.Run(name, func(t *testing.T) {
			opts := environment(t, c.kv)
			_, err := ClientOptions(opts)
			require.ErrorContains(t, err, c.want)
			_, err = Dial(t.Context(), opts)
			require.ErrorContains(t, err, c.want, "Dial reports the settings error, not a connection failure")
		})
	}
}
