package loopback

import "testing"

func TestCheckServer(t *testing.T) {
	for server, ok := range map[string]bool{
		"https://127.0.0.1:6443": true, "https://localhost:6443": true, "127.0.0.1:6443": true,
		"https://[::1]:6443": true, "https://127.1.2.3": true,
		"https://10.1.1.1:6443": false, "https://example.com": false, "http://[::ffff:10.0.0.1]": false,
	} {
		if err := CheckServer(server); (err == nil) != ok {
			t.Errorf("CheckServer(%q) = %v", server, err)
		}
	}
}
