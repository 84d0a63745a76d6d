package localcluster

import (
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteKubeconfigs writes the admin kubeconfig (client certificate) and the
// token kubeconfig (the static admin token), both for server.
func WriteKubeconfigs(l Layout, server, token string) error {
	ca, err := os.ReadFile(l.PKI("ca.crt"))
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(l.PKI("admin.crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(l.PKI("admin.key"))
	if err != nil {
		return err
	}
	write := func(path string, user *clientcmdapi.AuthInfo) error {
		config := clientcmdapi.NewConfig()
		config.Clusters["discoblocks-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
		config.AuthInfos["admin"] = user
		config.Contexts["discoblocks-local"] = &clientcmdapi.Context{Cluster: "discoblocks-local", AuthInfo: "admin"}
		config.CurrentContext = "discoblocks-local"
		// WriteToFile creates it 0600: it holds a credential.
		return clientcmd.WriteToFile(*config, path)
	}
	if err := write(l.Kubeconfig(), &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}); err != nil {
		return err
	}
	return write(l.TokenKubeconfig(), &clientcmdapi.AuthInfo{Token: token})
}
