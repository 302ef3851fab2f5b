// Package deploycheck tests the repository's container definitions — Dockerfile, docker-compose.yml and
// .dockerignore — without a Docker engine: it validates the compose file with docker-compose, parses both files
// and checks the invariants they must keep (pinned images, loopback-only ports, healthy dependencies, targets
// that exist, binaries that are built, and the ports and addresses the binaries default to). Its httpprobe
// command is the images' health check.
package deploycheck
