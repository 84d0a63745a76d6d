package localcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// PKI is the cluster's certificate authority and the credentials signed by it,
// all fresh for every start. ECDSA P-256: instant to generate, and accepted by
// every component for every use here.
type PKI struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	Token  string // the admin's static bearer token
}

type certRequest struct {
	name        string // file stem under pki/
	subject     pkix.Name
	usage       x509.ExtKeyUsage
	ipAddresses []net.IP
	dnsNames    []string
}

// MakePKI writes, under pki/: ca, apiserver (serving), admin (client, group
// system:masters), kubelet (serving, for the simulated kubelet statistics),
// service-account key pair, and tokens.csv with the admin token.
func MakePKI(l Layout) (*PKI, error) {
	p := &PKI{}
	var err error
	if p.caKey, err = newKey(); err != nil {
		return nil, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "discoblocks-local-cluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the CA: %w", err)
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	if err := writePEM(l.PKI("ca.crt"), "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(l.PKI("ca.key"), p.caKey); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	for _, req := range []certRequest{
		{name: "apiserver", subject: pkix.Name{CommonName: "kube-apiserver"}, usage: x509.ExtKeyUsageServerAuth,
			ipAddresses: append(loopback, net.ParseIP("10.0.0.1")),
			dnsNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}},
		// O=system:masters: the group that RBAC lets do everything.
		{name: "admin", subject: pkix.Name{CommonName: "discoblocks-admin", Organization: []string{"system:masters"}},
			usage: x509.ExtKeyUsageClientAuth},
		{name: "kubelet", subject: pkix.Name{CommonName: "sim-kubelet-stats"}, usage: x509.ExtKeyUsageServerAuth,
			ipAddresses: loopback, dnsNames: []string{"localhost"}},
	} {
		if err := p.sign(l, req); err != nil {
			return nil, err
		}
	}
	saKey, err := newKey()
	if err != nil {
		return nil, err
	}
	if err := writeKey(l.PKI("service-account.key"), saKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(l.PKI("service-account.pub"), "PUBLIC KEY", pub, 0o644); err != nil {
		return nil, err
	}
	// A static bearer token for the same kind of admin, for tests of the token
	// path. --token-auth-file lines: token,user,uid,"group1,group2".
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	p.Token = hex.EncodeToString(secret)
	if err := os.WriteFile(l.TokenFile(), []byte(p.Token+"\n"), 0o600); err != nil {
		return nil, err
	}
	line := fmt.Sprintf("%s,discoblocks-admin-token,discoblocks-admin-token,\"system:masters\"\n", p.Token)
	if err := os.WriteFile(l.PKI("tokens.csv"), []byte(line), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) sign(l Layout, req certRequest) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               req.subject,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{req.usage},
		IPAddresses:           req.ipAddresses,
		DNSNames:              req.dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return fmt.Errorf("signing %s: %w", req.name, err)
	}
	if err := writePEM(l.PKI(req.name+".crt"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeKey(l.PKI(req.name+".key"), key)
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func randomSerial() *big.Int {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // the system's random source failed: nothing sensible to do
	}
	return serial
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode)
}
