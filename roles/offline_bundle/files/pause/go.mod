module gitops-platform.local/offline-bundle/pause

go 1.22
