{{/* Names, labels and shared pieces of the watchkeeper chart. */}}

{{- define "watchkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "watchkeeper.fullname" -}}
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

{{- define "watchkeeper.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "watchkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "watchkeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "watchkeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "watchkeeper.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "watchkeeper.sidecarImage" -}}
{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "watchkeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "watchkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "watchkeeper.secretName" -}}
{{- .Values.clickhouse.existingSecret | default (printf "%s-clickhouse" (include "watchkeeper.fullname" .)) }}
{{- end }}

{{/*
One TOML value: whole numbers as integers (Helm reads every number as a float), strings
as JSON strings (valid TOML basic strings), tables inline.
*/}}
{{- define "watchkeeper.tomlValue" -}}
{{- if kindIs "string" . }}{{ toJson . }}
{{- else if kindIs "bool" . }}{{ . }}
{{- else if kindIs "map" . }}{ {{- $first := true }}{{ range $k, $v := . }}{{ if not $first }},{{ end }}{{ $first = false }} {{ toJson $k }} = {{ include "watchkeeper.tomlValue" $v }}{{ end }} }
{{- else if kindIs "slice" . }}[{{ range $i, $v := . }}{{ if $i }}, {{ end }}{{ include "watchkeeper.tomlValue" $v }}{{ end }}]
{{- else if eq (float64 .) (floor .) }}{{ int64 . }}
{{- else }}{{ . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every watchkeeper pod. */}}
{{- define "watchkeeper.podSpecCommon" -}}
serviceAccountName: {{ include "watchkeeper.serviceAccountName" . }}
automountServiceAccountToken: false
{{- /* Service links put WATCHKEEPER_<SERVICE>_* variables (from Services named
watchkeeper-*) into the environment, which the settings loader rejects as unknown. */}}
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* HTTP probes on /healthz, the same for every watchkeeper container. */}}
{{- define "watchkeeper.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 2
  failureThreshold: 30
readinessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 10
  timeoutSeconds: 5
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/*
The sidecar container, to inject into an app pod as a native sidecar (an entry of
initContainers with restartPolicy: Always). The pod needs the volume named by
"watchkeeper.sidecarVolume" and enableServiceLinks: false.
*/}}
{{- define "watchkeeper.sidecarContainer" -}}
name: watchkeeper-sidecar
image: {{ include "watchkeeper.sidecarImage" . }}
imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
restartPolicy: Always
args: ["sidecar"]
env:
  # 0.0.0.0 inside the pod: the app sends to 127.0.0.1; the kubelet's probes and
  # Prometheus reach /healthz and /metrics on the pod IP.
  - name: WATCHKEEPER_HTTP_HOST
    value: "0.0.0.0"
  - name: WATCHKEEPER_HTTP_PORT
    value: {{ .Values.sidecar.port | int64 | quote }}
  - name: WATCHKEEPER_GRPC_PORT
    value: {{ .Values.sidecar.grpcPort | int64 | quote }}
  - name: WATCHKEEPER_KAFKA_BOOTSTRAP
    value: {{ .Values.kafka.bootstrap | quote }}
  - name: WATCHKEEPER_KAFKA_TOPIC
    value: {{ .Values.kafka.topic | quote }}
  - name: WATCHKEEPER_SIDECAR_SPOOL_DIR
    value: /var/lib/watchkeeper/spool
  - name: WATCHKEEPER_SIDECAR_SPOOL_MAX_BYTES
    value: {{ .Values.sidecar.spoolMaxBytes | int64 | quote }}
  - name: WATCHKEEPER_SIDECAR_DRAIN_TIMEOUT_S
    value: {{ .Values.sidecar.drainTimeoutSeconds | quote }}
ports:
  - name: wk-otlp
    containerPort: {{ .Values.sidecar.port | int64 }}
    protocol: TCP
  - name: wk-otlp-grpc
    containerPort: {{ .Values.sidecar.grpcPort | int64 }}
    protocol: TCP
{{ include "watchkeeper.probes" "wk-otlp" }}
resources:
  {{- toYaml .Values.sidecar.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
  runAsUser: {{ .Values.podSecurityContext.runAsUser | int64 }}
  runAsGroup: {{ .Values.podSecurityContext.runAsGroup | int64 }}
volumeMounts:
  - name: watchkeeper-spool
    mountPath: /var/lib/watchkeeper/spool
  - name: watchkeeper-tmp
    mountPath: /tmp
{{- end }}

{{/*
The sidecar's volumes: the spool (an emptyDir survives restarts of the container, not
the pod's deletion; use a PersistentVolumeClaim where that matters) and /tmp.
*/}}
{{- define "watchkeeper.sidecarVolumes" -}}
- name: watchkeeper-spool
  emptyDir:
    sizeLimit: {{ add (int64 .Values.sidecar.spoolMaxBytes) 16777216 | quote }}
- name: watchkeeper-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
