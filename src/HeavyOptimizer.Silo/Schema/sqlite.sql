-- Heavy Optimizer's schema for Orleans' ADO.NET grain storage and reminders on SQLite (invariant System.Data.SQLite, served by
-- Microsoft.Data.Sqlite). The provider reads its statements from OrleansQuery by key; each statement below keeps the
-- provider's contract: parameters @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
-- @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary; a write or clear answers with
-- NewGrainStateVersion (the stored version + 1) only when it applied, so a stale version is an inconsistency.
-- Applied by `hopt db init`, idempotently.

-- Write-ahead logging: readers do not wait for the writer (status reads while jobs are written).
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  VARCHAR(64)   NOT NULL PRIMARY KEY,
    QueryText VARCHAR(8000) NOT NULL
);

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            INT           NOT NULL,
    GrainIdN0              BIGINT        NOT NULL,
    GrainIdN1              BIGINT        NOT NULL,
    GrainTypeHash          INT           NOT NULL,
    GrainTypeString        NVARCHAR(512) NOT NULL,
    GrainIdExtensionString NVARCHAR(512) NULL,
    ServiceId              NVARCHAR(150) NOT NULL,
    PayloadBinary          BLOB          NULL,
    ModifiedOn             DATETIME      NOT NULL,
    Version                INT           NULL
);

-- One row per grain: the hashes find it, the strings settle hash collisions.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage ON OrleansStorage
    (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, IFNULL(GrainIdExtensionString, ''), ServiceId);

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''') AND ServiceId = @ServiceId
LIMIT 1;');

-- First write (no version yet): insert at version 1 unless a row exists. Later writes: bump the version only when the
-- stored one is the caller''s. changes() tells each SELECT whether the statement before it applied.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @PayloadBinary, datetime(''now''), 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING;
SELECT 1 AS NewGrainStateVersion WHERE @GrainStateVersion IS NULL AND changes() = 1;
UPDATE OrleansStorage
SET PayloadBinary = @PayloadBinary, ModifiedOn = datetime(''now''), Version = Version + 1
WHERE @GrainStateVersion IS NOT NULL AND Version = @GrainStateVersion
  AND GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''') AND ServiceId = @ServiceId;
SELECT @GrainStateVersion + 1 AS NewGrainStateVersion WHERE @GrainStateVersion IS NOT NULL AND changes() = 1;');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = datetime(''now''), Version = Version + 1
WHERE Version = @GrainStateVersion
  AND GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
  AND IFNULL(GrainIdExtensionString, '''') = IFNULL(@GrainIdExtensionString, '''') AND ServiceId = @ServiceId;
SELECT @GrainStateVersion + 1 AS NewGrainStateVersion WHERE changes() = 1;');

-- Reminders (ADO.NET reminder provider): one row per grain and reminder name. Parameters @ServiceId, @GrainId,
-- @ReminderName, @StartTime, @Period (milliseconds), @GrainHash, @BeginHash, @EndHash, @Version; an upsert answers with
-- the row's new Version, a delete with whether it removed the row at that version.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    NVARCHAR(150) NOT NULL,
    GrainId      VARCHAR(150)  NOT NULL,
    ReminderName NVARCHAR(150) NOT NULL,
    StartTime    DATETIME      NOT NULL,
    Period       BIGINT        NOT NULL,
    GrainHash    INT           NOT NULL,
    Version      INT           NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash, Version = Version + 1
RETURNING Version;');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;');

-- The ring range (BeginHash, EndHash] in signed order; Rows2 is the range that wraps around.
INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version;
SELECT changes() > 0;');

INSERT OR REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;');
