{{/* The app name (app.kubernetes.io/name): the chart's name, or nameOverride. */}}
{{- define "sr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object's name: fullnameOverride, else the release name when it
     already contains the (overridden) chart name, else <release>-<name>. */}}
{{- define "sr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The pods of one shard's Deployment ({root, shard}; shard "" is the default shard, whose
     selector is the release's as before sharding, so an upgrade keeps its Deployment). */}}
{{- define "sr.shardSelectorLabels" -}}
app.kubernetes.io/name: {{ include "sr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}{{ if .shard }}-{{ .shard }}{{ end }}
{{- end -}}

{{/* Every controller pod of the release, whatever its shard (Service, NetworkPolicy). */}}
{{- define "sr.podsLabels" -}}
app.kubernetes.io/name: {{ include "sr.name" . }}
app.kubernetes.io/part-of: {{ .Release.Name }}
{{- end -}}

{{- define "sr.labels" -}}
{{ include "sr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sr.image" -}}
{{- $repository := required "image.repository is required: build the image from the Dockerfile, push it to a registry the cluster pulls from (or load it into a local cluster) and set image.repository; see docs/install.md" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- /* A YAML `tag: 2` or `--set image.tag=2` arrives as a number: render it as text (a
     whole float64 from a values file as an integer, not 2.0240101e+07). */ -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if and (kindIs "float64" $tag) (eq $tag (float64 (int64 $tag))) -}}
{{- $tag = int64 $tag -}}
{{- end -}}
{{- printf "%s:%s" $repository (toString $tag) -}}
{{- end -}}
{{- end -}}

{{/* The rules on ModelDeployments, shared by the ClusterRole and the per-namespace Roles. */}}
{{- define "sr.modelDeploymentRules" -}}
- apiGroups: ["sagemaker.mlops.dev"]
  resources: ["modeldeployments"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["sagemaker.mlops.dev"]
  resources: ["modeldeployments/status", "modeldeployments/finalizers"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
