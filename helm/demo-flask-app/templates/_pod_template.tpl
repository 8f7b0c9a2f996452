{{/*
The pod template, shared by the Deployment and, with canary.enabled, the Argo Rollouts Rollout that replaces it.
*/}}
{{- define "demo-flask-app.podTemplate" -}}
metadata:
  {{- if or .Values.config .Values.sessionKey.sealed .Values.podAnnotations }}
  annotations:
    {{- if .Values.config }}
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- end }}
    {{- if .Values.sessionKey.sealed }}
    # A new sealed key restarts the pods, which read it at start.
    checksum/session-key: {{ .Values.sessionKey.sealed | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  labels:
    {{- include "demo-flask-app.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "demo-flask-app.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $shutdown := .Values.shutdown }}
  {{- if le (int $shutdown.terminationGracePeriodSeconds) (add $shutdown.preStopSleepSeconds $shutdown.drainSeconds | int) }}
  {{- fail (printf "shutdown.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + drainSeconds (%v)" $shutdown.terminationGracePeriodSeconds (add $shutdown.preStopSleepSeconds $shutdown.drainSeconds)) }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $shutdown.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ .Chart.Name }}
      image: {{ include "demo-flask-app.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      env:
        # The version the app reports (GET /version, logs): the image tag actually deployed.
        - name: APP_VERSION
          value: {{ include "demo-flask-app.imageTag" . | quote }}
        # In-flight requests get this long after SIGTERM (shutdown.drainSeconds).
        - name: GUNICORN_GRACEFUL_TIMEOUT
          value: {{ .Values.shutdown.drainSeconds | quote }}
        {{- if .Values.sessionKey.sealed }}
        # Decrypted by the Sealed Secrets controller; the pod starts once the Secret exists.
        - name: SESSION_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "demo-flask-app.fullname" . }}-session
              key: SESSION_KEY
        {{- end }}
      {{- if .Values.config }}
      envFrom:
        - configMapRef:
            name: {{ include "demo-flask-app.fullname" . }}
      {{- end }}
      {{- if .Values.shutdown.preStopSleepSeconds }}
      lifecycle:
        # Keep serving while the endpoint removal reaches every node; SIGTERM comes after.
        preStop:
          sleep:
            seconds: {{ .Values.shutdown.preStopSleepSeconds }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.containerPort }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: {{ .Values.livenessProbe.path }}
          port: http
        initialDelaySeconds: {{ .Values.livenessProbe.initialDelaySeconds }}
        periodSeconds: {{ .Values.livenessProbe.periodSeconds }}
        timeoutSeconds: {{ .Values.livenessProbe.timeoutSeconds }}
        failureThreshold: {{ .Values.livenessProbe.failureThreshold }}
      readinessProbe:
        httpGet:
          path: {{ .Values.readinessProbe.path }}
          port: http
        initialDelaySeconds: {{ .Values.readinessProbe.initialDelaySeconds }}
        periodSeconds: {{ .Values.readinessProbe.periodSeconds }}
        timeoutSeconds: {{ .Values.readinessProbe.timeoutSeconds }}
        failureThreshold: {{ .Values.readinessProbe.failureThreshold }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        # The root filesystem is read-only; gunicorn and Python need a writable /tmp.
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        {{- with .Values.tmpVolume.sizeLimit }}
        sizeLimit: {{ . }}
        {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if .Values.spreadOverNodes }}
  # Replicas on different nodes where there are several (preferred: one node still runs them all).
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "demo-flask-app.selectorLabels" . | nindent 16 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
