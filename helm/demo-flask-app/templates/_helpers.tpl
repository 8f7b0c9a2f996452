{{/*
Name of the chart, or nameOverride. Truncated to 63 characters: some Kubernetes name fields
are limited to that (DNS-1123 labels).
*/}}
{{- define "demo-flask-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: fullnameOverride, else <release>-<chart> (just <release> when the release
name already contains the chart name). Truncated to 63 characters.
*/}}
{{- define "demo-flask-app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, as used by the helm.sh/chart label.
*/}}
{{- define "demo-flask-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Image tag actually deployed: image.tag, or the chart's appVersion when it is empty.
*/}}
{{- define "demo-flask-app.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
Full image reference: <repository>:<tag>.
*/}}
{{- define "demo-flask-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "demo-flask-app.imageTag" .) }}
{{- end }}

{{/*
Deployed version as a valid label value: at most 63 characters, starting and ending alphanumeric.
*/}}
{{- define "demo-flask-app.version" -}}
{{- $tag := include "demo-flask-app.imageTag" . | trunc 63 }}
{{- regexReplaceAll "[^A-Za-z0-9]+$" (regexReplaceAll "^[^A-Za-z0-9]+" $tag "") "" }}
{{- end }}

{{/*
Common labels, on every object.
*/}}
{{- define "demo-flask-app.labels" -}}
helm.sh/chart: {{ include "demo-flask-app.chart" . }}
{{ include "demo-flask-app.selectorLabels" . }}
{{- with include "demo-flask-app.version" . }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: web
app.kubernetes.io/part-of: gitops-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels. Never change them: a Deployment's selector is immutable.
*/}}
{{- define "demo-flask-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "demo-flask-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount the pods run as.
*/}}
{{- define "demo-flask-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "demo-flask-app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The workload the autoscalers act on: the Deployment, or the Rollout that replaces it with canary.enabled.
*/}}
{{- define "demo-flask-app.workloadRef" -}}
{{- if .Values.canary.enabled -}}
apiVersion: argoproj.io/v1alpha1
kind: Rollout
{{- else -}}
apiVersion: apps/v1
kind: Deployment
{{- end }}
name: {{ include "demo-flask-app.fullname" . }}
{{- end }}

{{/*
Name of the AnalysisTemplate that judges each canary step (canary.enabled).
*/}}
{{- define "demo-flask-app.analysisTemplateName" -}}
{{- printf "%s-canary" (include "demo-flask-app.fullname" .) }}
{{- end }}
