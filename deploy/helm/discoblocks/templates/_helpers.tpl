{{/* The release's base name: the release name, with "-discoblocks" unless it already says so. */}}
{{- define "discoblocks.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of the webhook's Deployment, Service, ServiceAccount and RBAC objects. */}}
{{- define "discoblocks.webhook" -}}
{{- printf "%s-webhook" (include "discoblocks.fullname" .) -}}
{{- end -}}

{{- define "discoblocks.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "discoblocks.labels" -}}
{{ include "discoblocks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "discoblocks.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the serving certificate, whichever tls.mode made it. */}}
{{- define "discoblocks.certSecret" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-cert" (include "discoblocks.webhook" .) -}}
{{- end -}}
{{- end -}}

{{/* The DNS names the serving certificate must carry. */}}
{{- define "discoblocks.dnsNames" -}}
{{- $service := include "discoblocks.webhook" . -}}
- {{ printf "%s.%s.svc" $service .Release.Namespace }}
- {{ printf "%s.%s.svc.cluster.local" $service .Release.Namespace }}
{{- end -}}
