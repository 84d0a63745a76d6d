package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// reviewer delegates authentication and authorization to the API server, as the
// kubelet does in webhook mode, so that RBAC decides who may read the stats and a
// client that works here also works against a real kubelet.
type reviewer struct {
	client  kubernetes.Interface
	timeout time.Duration
	log     *slog.Logger
}

// requestAttributes are the parts of a SubjectAccessReview that depend on the request.
type requestAttributes struct {
	verb, subresource, node string
}

// attributesFor mirrors the kubelet's mapping of paths to node subresources.
func attributesFor(r *http.Request, node string) requestAttributes {
	a := requestAttributes{node: node, subresource: "proxy"}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.verb = "get"
	case http.MethodPost:
		a.verb = "create"
	case http.MethodPut:
		a.verb = "update"
	case http.MethodPatch:
		a.verb = "patch"
	case http.MethodDelete:
		a.verb = "delete"
	}
	switch p := r.URL.Path; {
	case isSubpath(p, "/stats"):
		a.subresource = "stats"
	case isSubpath(p, "/metrics"):
		a.subresource = "metrics"
	}
	return a
}

func isSubpath(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// bearerToken parses the header as the kubelet's authenticator does (scheme
// case-insensitive, anything after a second space ignored), so clients behave
// the same against both.
func bearerToken(r *http.Request) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(r.Header.Get("Authorization")), " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// authenticate returns the user, or nil and the API server's reason if it does
// not accept the token.
func (rv *reviewer) authenticate(ctx context.Context, token string) (*authnv1.UserInfo, string, error) {
	ctx, cancel := context.WithTimeout(ctx, rv.timeout)
	defer cancel()
	tr, err := rv.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		return nil, tr.Status.Error, nil
	}
	return &tr.Status.User, "", nil
}

// authorize returns whether the user may do what attrs describe, and the
// authorizer's reason for logging.
func (rv *reviewer) authorize(ctx context.Context, u *authnv1.UserInfo, attrs requestAttributes) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, rv.timeout)
	defer cancel()
	var extra map[string]authzv1.ExtraValue
	if len(u.Extra) > 0 {
		extra = make(map[string]authzv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			extra[k] = authzv1.ExtraValue(v)
		}
	}
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:   u.Username,
		Groups: u.Groups,
		UID:    u.UID,
		Extra:  extra,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb:        attrs.verb,
			Version:     "v1",
			Resource:    "nodes",
			Subresource: attrs.subresource,
			Name:        attrs.node,
		},
	}}
	res, err := rv.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("SubjectAccessReview: %w", err)
	}
	reason := res.Status.Reason
	if res.Status.EvaluationError != "" {
		reason = strings.TrimSpace(reason + " (evaluation error: " + res.Status.EvaluationError + ")")
	}
	return res.Status.Allowed && !res.Status.Denied, reason, nil
}

// withAuth guards next the way the kubelet guards its API: 401 for a missing
// or rejected token, 403 with the kubelet's message when RBAC says no.
func (rv *reviewer) withAuth(node string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := rv.log.With("node", node, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		token, ok := bearerToken(r)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, reason, err := rv.authenticate(r.Context(), token)
		if err != nil {
			log.Error("SIMULATION: authentication failed talking to the API server", "err", err)
			http.Error(w, "Authentication error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if user == nil {
			log.Info("SIMULATION: token rejected", "reason", reason)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		attrs := attributesFor(r, node)
		if attrs.verb == "" {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		desc := fmt.Sprintf("(user=%s, verb=%s, resource=nodes, subresource=%s)", user.Username, attrs.verb, attrs.subresource)
		allowed, reason, err := rv.authorize(r.Context(), user, attrs)
		if err != nil {
			log.Error("SIMULATION: authorization failed talking to the API server", "user", user.Username, "err", err)
			http.Error(w, "Authorization error "+desc+": "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !allowed {
			log.Info("SIMULATION: request forbidden", "user", user.Username, "verb", attrs.verb, "subresource", attrs.subresource, "reason", reason)
			http.Error(w, "Forbidden "+desc, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
