#!/bin/sh
# Installs the Go tools the tests run into $(go env GOPATH)/bin, where they are found: act (runs
# the workflows' jobs on this machine), actionlint (lints the workflows) and kustomize (builds the
# Kubernetes base).
set -eu
go install github.com/nektos/act@v0.2.87
go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
