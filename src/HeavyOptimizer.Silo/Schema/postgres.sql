-- Heavy Optimizer's schema for Orleans' ADO.NET clustering, grain storage and reminders on PostgreSQL (invariant Npgsql).
-- The providers read their statements from OrleansQuery by key and bind parameters by name; every parameter is cast
-- here, so PostgreSQL never has to guess a type (a null one included). Applied by `hopt db init --provider postgres`,
-- idempotently: tables are created when missing and every statement is replaced by this version's.
-- Silos starting together each apply this script: the statements run as one implicit transaction, and this lock
-- (held to its end) makes them take turns, so two never race to create the same table.
SELECT pg_advisory_xact_lock(4809215563);

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

-- Clustering: one version row per deployment, bumped by every membership change (the table's etag), and one row per
-- silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL PRIMARY KEY,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Grain state: one row per grain; the hashes find it, the strings settle hash collisions.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL,
    Version                integer      NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage ON OrleansStorage
    (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, coalesce(GrainIdExtensionString, ''), ServiceId);

-- Reminders: one row per grain and reminder name; GrainHash places it on the silos' ring.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      varchar(150)   NOT NULL,
    ReminderName varchar(150)   NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,
    GrainHash    integer        NOT NULL,
    Version      integer        NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_OrleansRemindersTable_GrainHash ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering ------------------------------------------------------------------------------------------------------
('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime::timestamptz
WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar AND Port = @Port::integer AND Generation = @Generation::integer;'),

-- Answers 1 when this call created the deployment''s version row, 0 when it was there.
('InsertMembershipVersionKey', '
WITH inserted AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId::varchar)
    ON CONFLICT (DeploymentId) DO NOTHING RETURNING 1)
SELECT count(*)::integer FROM inserted;'),

-- A silo joins: its row is added and the version bumped together, only if the caller saw the current version and the
-- row is new; answers 1 when both happened, 0 when neither did (the caller re-reads and tries again).
('InsertMembershipKey', '
WITH version AS (
    UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId::varchar AND Version = @Version::integer
      AND NOT EXISTS (SELECT 1 FROM OrleansMembershipTable m
                      WHERE m.DeploymentId = @DeploymentId::varchar AND m.Address = @Address::varchar
                        AND m.Port = @Port::integer AND m.Generation = @Generation::integer)
    RETURNING DeploymentId),
inserted AS (
    INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    SELECT DeploymentId, @Address::varchar, @Port::integer, @Generation::integer, @SiloName::varchar, @HostName::varchar,
           @Status::integer, @ProxyPort::integer, @StartTime::timestamptz, @IAmAliveTime::timestamptz
    FROM version
    RETURNING 1)
SELECT count(*)::integer FROM inserted;'),

-- A silo''s status changes: same rule, the row must exist.
('UpdateMembershipKey', '
WITH version AS (
    UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId::varchar AND Version = @Version::integer
      AND EXISTS (SELECT 1 FROM OrleansMembershipTable m
                  WHERE m.DeploymentId = @DeploymentId::varchar AND m.Address = @Address::varchar
                    AND m.Port = @Port::integer AND m.Generation = @Generation::integer)
    RETURNING DeploymentId),
updated AS (
    UPDATE OrleansMembershipTable m
    SET Status = @Status::integer, SuspectTimes = @SuspectTimes::varchar, IAmAliveTime = @IAmAliveTime::timestamptz
    FROM version v
    WHERE m.DeploymentId = v.DeploymentId AND m.Address = @Address::varchar AND m.Port = @Port::integer AND m.Generation = @Generation::integer
    RETURNING 1)
SELECT count(*)::integer FROM updated;'),

-- The version row always comes back (with null silo columns when the silo has no row), so the caller gets the etag.
('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes,
       m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
     AND m.Address = @Address::varchar AND m.Port = @Port::integer AND m.Generation = @Generation::integer
WHERE v.DeploymentId = @DeploymentId::varchar;'),

('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes,
       m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId::varchar;'),

('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId::varchar;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId::varchar;'),

('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId::varchar AND Status = @Status::integer AND ProxyPort > 0;'),

-- Status 3 is Active: rows of silos that stopped answering long ago go.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId::varchar AND IAmAliveTime < @IAmAliveTime::timestamptz AND Status <> 3;'),

-- One dead silo''s row, only if it is still as the caller read it.
('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar AND Port = @Port::integer AND Generation = @Generation::integer
  AND Status = 6 AND StartTime = @StartTime::timestamptz AND IAmAliveTime = @IAmAliveTime::timestamptz
  AND SuspectTimes IS NOT DISTINCT FROM @SuspectTimes::varchar;'),

-- Grain storage -----------------------------------------------------------------------------------------------------
('ReadFromStorageKey', '
SELECT PayloadBinary, Version FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
  AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint AND GrainTypeString = @GrainTypeString::varchar
  AND coalesce(GrainIdExtensionString, '''') = coalesce(@GrainIdExtensionString::varchar, '''') AND ServiceId = @ServiceId::varchar
LIMIT 1;'),

-- First write (no version yet) inserts at version 1 unless the row exists; later writes bump the version only when the
-- stored one is the caller''s. NewGrainStateVersion comes back only when the write applied.
('WriteToStorageKey', '
WITH inserted AS (
    INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash::integer, @GrainIdN0::bigint, @GrainIdN1::bigint, @GrainTypeHash::integer, @GrainTypeString::varchar,
           @GrainIdExtensionString::varchar, @ServiceId::varchar, @PayloadBinary::bytea, now(), 1
    WHERE @GrainStateVersion::integer IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version),
updated AS (
    UPDATE OrleansStorage SET PayloadBinary = @PayloadBinary::bytea, ModifiedOn = now(), Version = Version + 1
    WHERE @GrainStateVersion::integer IS NOT NULL AND Version = @GrainStateVersion::integer
      AND GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
      AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint AND GrainTypeString = @GrainTypeString::varchar
      AND coalesce(GrainIdExtensionString, '''') = coalesce(@GrainIdExtensionString::varchar, '''') AND ServiceId = @ServiceId::varchar
    RETURNING Version)
SELECT Version AS NewGrainStateVersion FROM inserted UNION ALL SELECT Version FROM updated;'),

('ClearStorageKey', '
UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
WHERE Version = @GrainStateVersion::integer
  AND GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
  AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint AND GrainTypeString = @GrainTypeString::varchar
  AND coalesce(GrainIdExtensionString, '''') = coalesce(@GrainIdExtensionString::varchar, '''') AND ServiceId = @ServiceId::varchar
RETURNING Version AS NewGrainStateVersion;'),

-- Reminders ---------------------------------------------------------------------------------------------------------
('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId::varchar, @GrainId::varchar, @ReminderName::varchar, @StartTime::timestamptz, @Period::bigint, @GrainHash::integer, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash, Version = OrleansRemindersTable.Version + 1
RETURNING Version;'),

('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar;'),

('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar AND ReminderName = @ReminderName::varchar;'),

-- The ring range (BeginHash, EndHash] in signed order; Rows2 is the range that wraps around.
('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainHash > @BeginHash::integer AND GrainHash <= @EndHash::integer;'),

('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND (GrainHash > @BeginHash::integer OR GrainHash <= @EndHash::integer);'),

('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar AND ReminderName = @ReminderName::varchar AND Version = @Version::integer
    RETURNING 1)
SELECT count(*) > 0 FROM deleted;'),

('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId::varchar;')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
