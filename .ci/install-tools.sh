#!/bin/sh
# Installs the tools the workflow tests run into $(go env GOPATH)/bin, where .github/act.ts finds
# them: act (runs the workflows' jobs on this machine) and actionlint (lints the workflows).
set -eu
go install github.com/nektos/act@v0.2.87
go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
