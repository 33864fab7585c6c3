-- Run once by the postgres image on an empty data volume (docker-compose.yml mounts
-- this folder at /docker-entrypoint-initdb.d). One database and one role per service:
-- no service can connect to another's database. DEV-ONLY passwords.
-- To run it again: docker compose down -v (drops the volumes), then up.
--
-- `python -m services.runner migrate <svc>` would create a missing database itself,
-- but only with a role allowed to; creating them here lets the service roles stay
-- unprivileged, as they will be in Kubernetes.

CREATE ROLE docflow_org LOGIN PASSWORD 'org-dev-only';
CREATE DATABASE docflow_org OWNER docflow_org;
REVOKE ALL ON DATABASE docflow_org FROM PUBLIC;

CREATE ROLE docflow_counterparty LOGIN PASSWORD 'counterparty-dev-only';
CREATE DATABASE docflow_counterparty OWNER docflow_counterparty;
REVOKE ALL ON DATABASE docflow_counterparty FROM PUBLIC;

CREATE ROLE docflow_contracts LOGIN PASSWORD 'contracts-dev-only';
CREATE DATABASE docflow_contracts OWNER docflow_contracts;
REVOKE ALL ON DATABASE docflow_contracts FROM PUBLIC;

CREATE ROLE docflow_payments LOGIN PASSWORD 'payments-dev-only';
CREATE DATABASE docflow_payments OWNER docflow_payments;
REVOKE ALL ON DATABASE docflow_payments FROM PUBLIC;

CREATE ROLE docflow_mail LOGIN PASSWORD 'mail-dev-only';
CREATE DATABASE docflow_mail OWNER docflow_mail;
REVOKE ALL ON DATABASE docflow_mail FROM PUBLIC;

CREATE ROLE docflow_archive LOGIN PASSWORD 'archive-dev-only';
CREATE DATABASE docflow_archive OWNER docflow_archive;
REVOKE ALL ON DATABASE docflow_archive FROM PUBLIC;

-- Last on purpose: the compose healthcheck waits for this database.
CREATE ROLE docflow_notify LOGIN PASSWORD 'notify-dev-only';
CREATE DATABASE docflow_notify OWNER docflow_notify;
REVOKE ALL ON DATABASE docflow_notify FROM PUBLIC;
