// Package backup renders the pgbackrest files of a cluster (backup/<cluster>/ of the bundle):
// pgbackrest.conf and the in-container scripts the Patroni job and compose carry, the host
// script and the cron entry bootstrap installs. Set names each file by its role.
package backup
