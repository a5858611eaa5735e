/// The registry: every property Strata knows, with its type, default and description.
///
/// Names mirror Alluxio's with the `strata.` prefix; defaults follow DESIGN.md.
extension PropertyKey {
    // MARK: Paths
    public static let home = PropertyKey("strata.home", .string, default: "/opt/strata",
        "Installation directory of Strata.")
    public static let workDirectory = PropertyKey("strata.work.dir", .string, default: "${strata.home}",
        "Directory under which processes keep their state (journal, logs) unless told otherwise.")
    public static let logsDirectory = PropertyKey("strata.logs.dir", .string, default: "${strata.work.dir}/logs",
        "Directory the start scripts write process logs to.")
    public static let logLevel = PropertyKey("strata.log.level", .choice(["TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]),
        default: "INFO", "Lowest level of log messages a process writes.")

    // MARK: Network
    public static let networkMaxInboundMessageSize = PropertyKey("strata.network.max.inbound.message.size", .size,
        default: "16MB", "Largest frame (header, body and raw payload) a process accepts; larger frames close the connection.")
    public static let networkConnectTimeout = PropertyKey("strata.network.connection.timeout", .duration,
        default: "3s", "How long a client waits for a TCP connection to be established.")
    public static let userRpcDeadline = PropertyKey("strata.user.rpc.deadline", .duration,
        default: "30s", "Default deadline of an RPC when the caller gives none.")
    public static let userRpcRetryBaseSleep = PropertyKey("strata.user.rpc.retry.base.sleep", .duration,
        default: "50ms", "First backoff delay when retrying an RPC.")
    public static let userRpcRetryMaxSleep = PropertyKey("strata.user.rpc.retry.max.sleep", .duration,
        default: "3s", "Largest backoff delay between RPC retries.")
    public static let userRpcRetryMaxDuration = PropertyKey("strata.user.rpc.retry.max.duration", .duration,
        default: "2min", "Give up retrying an RPC after this long.")
    public static let userRpcRetryRefusedDurationMax = PropertyKey("strata.user.rpc.retry.refused.duration.max", .duration,
        default: "10s", "Give up sooner when every master address has refused connections (nothing listening) for this long: longer than an election, shorter than the retry budget.")
    public static let userRpcLeaderCheckInterval = PropertyKey("strata.user.rpc.leader.check.interval", .duration,
        default: "250ms", "How long a call to the leader may go unanswered before the client asks the other masters whether another one now leads (and re-sends there); then how often it asks again.")

    // MARK: Master
    public static let masterHostname = PropertyKey("strata.master.hostname", .string, default: "localhost",
        "Hostname other processes use to reach this master.")
    public static let masterBindHost = PropertyKey("strata.master.bind.host", .string, default: "0.0.0.0",
        "Address the master's servers listen on.")
    public static let masterRpcPort = PropertyKey("strata.master.rpc.port", .port, default: "19998",
        "Port of the master's RPC server.")
    public static let masterWebPort = PropertyKey("strata.master.web.port", .port, default: "19999",
        "Port of the master's web UI.")
    public static let masterEmbeddedJournalPort = PropertyKey("strata.master.embedded.journal.port", .port,
        default: "19200", "Port of the master's embedded journal (Raft) server.")
    public static let masterEmbeddedJournalAddresses = PropertyKey("strata.master.embedded.journal.addresses",
        .addresses, default: "${strata.master.hostname}:${strata.master.embedded.journal.port}",
        "Embedded-journal addresses of every member of the MASTER quorum.")
    public static let masterRpcAddresses = PropertyKey("strata.master.rpc.addresses", .addresses, default: nil,
        "RPC addresses of every master, for clients; by default the embedded-journal hosts with the RPC port.")
    public static let masterJournalType = PropertyKey("strata.master.journal.type", .choice(["EMBEDDED", "UFS"]),
        default: "EMBEDDED", "Where the master keeps its journal: embedded Raft or a shared folder with ZooKeeper.")
    public static let masterJournalFolder = PropertyKey("strata.master.journal.folder", .string,
        default: "${strata.work.dir}/journal", "Directory of the master's journal.")

    public static let clusterID = PropertyKey("strata.cluster.id", .string, default: nil,
        "Cluster id (32 hex digits) that `strata format` writes into journals; random if unset.")
    public static let masterJournalExitOnDemotion = PropertyKey("strata.master.journal.exit.on.demotion", .boolean,
        default: "false", "A master that loses leadership exits (for a supervisor to restart it) instead of becoming a standby.")
    public static let masterMountTableRootUFS = PropertyKey("strata.master.mount.table.root.ufs", .string,
        default: "${strata.work.dir}/underFSStorage", "Under storage mounted at / (a local or shared folder).")

    // MARK: Backups
    public static let masterBackupDirectory = PropertyKey("strata.master.backup.directory", .string, default: "/strata_backups",
        "Folder of `fsadmin backup` files: in the root under storage, or with --local on the backing-up master's disk.")
    public static let masterBackupDelegationEnabled = PropertyKey("strata.master.backup.delegation.enabled", .boolean, default: "true",
        "The leading master has a standby take backups and keeps serving.")
    public static let masterDailyBackupEnabled = PropertyKey("strata.master.daily.backup.enabled", .boolean, default: "false",
        "The leading master takes a backup every day at strata.master.daily.backup.time.")
    public static let masterDailyBackupTime = PropertyKey("strata.master.daily.backup.time", .string, default: "05:00",
        "When the daily backup is taken, HH:mm in UTC.")
    public static let masterJournalBackupWhenCorrupted = PropertyKey("strata.master.journal.backup.when.corrupted", .boolean, default: "true",
        "A master that meets a journal entry it cannot apply backs up its state as of the entry before, then stops.")
    public static let masterDailyBackupFilesRetained = PropertyKey("strata.master.daily.backup.files.retained", .integer(min: 1, max: 10_000), default: "3",
        "Backups kept in the backup folder after a daily backup; older ones are deleted.")

    // MARK: Embedded journal (Raft)
    public static let masterEmbeddedJournalElectionTimeoutMin = PropertyKey("strata.master.embedded.journal.election.timeout.min",
        .duration, default: "1s", "Shortest time a member waits without hearing from a leader before campaigning.")
    public static let masterEmbeddedJournalElectionTimeoutMax = PropertyKey("strata.master.embedded.journal.election.timeout.max",
        .duration, default: "2s", "Longest such wait; each member picks at random between min and max.")
    public static let masterEmbeddedJournalHeartbeatInterval = PropertyKey("strata.master.embedded.journal.heartbeat.interval",
        .duration, default: "100ms", "How often the leader sends heartbeats.")
    public static let masterEmbeddedJournalEntrySizeMax = PropertyKey("strata.master.embedded.journal.entry.size.max",
        .size, default: "10MB", "Largest journal entry.")
    public static let masterEmbeddedJournalSegmentSize = PropertyKey("strata.master.embedded.journal.segment.size",
        .size, default: "64MB", "Size at which a journal log segment file is closed and a new one started.")
    public static let masterEmbeddedJournalLogCacheSize = PropertyKey("strata.master.embedded.journal.log.cache.size",
        .size, default: "64MB", "Most journal log entries held in memory, however many entries lie between checkpoints; older ones are read back from the log segments when a lagging member or a replay needs them.")
    public static let masterEmbeddedJournalSnapshotReplicationChunkSize = PropertyKey(
        "strata.master.embedded.journal.snapshot.replication.chunk.size", .size, default: "4MB",
        "Size of the pieces a snapshot is streamed to a lagging member in.")
    public static let masterEmbeddedJournalSnapshotReplicationCompressionType = PropertyKey(
        "strata.master.embedded.journal.snapshot.replication.compression.type", .choice(["NO_COMPRESSION", "ZLIB"]),
        default: "NO_COMPRESSION", "Compression of streamed snapshot pieces.")
    public static let masterEmbeddedJournalUnsafeFlushEnabled = PropertyKey("strata.master.embedded.journal.unsafe.flush.enabled",
        .boolean, default: "false", "Acknowledge journal writes without fsync. Faster; loses acknowledged writes on power loss.")
    public static let masterJournalFlushBatchTime = PropertyKey("strata.master.journal.flush.batch.time", .duration,
        default: "0ms", "Extra time to gather journal entries into one fsync; 0 batches only what arrives during a flush.")
    public static let masterJournalCheckpointPeriodEntries = PropertyKey("strata.master.journal.checkpoint.period.entries",
        .integer(min: 1, max: Int.max), default: "2000000", "Journal entries between checkpoints (snapshots).")
    public static let masterEmbeddedJournalSnapshotsRetained = PropertyKey("strata.master.embedded.journal.snapshots.retained",
        .integer(min: 1, max: 100), default: "2", "Snapshots kept on disk.")

    // MARK: UFS journal and ZooKeeper
    public static let masterJournalLogSizeBytesMax = PropertyKey("strata.master.journal.log.size.bytes.max", .size,
        default: "10MB", "UFS journal: size at which the leader completes a log file and starts the next.")
    public static let masterJournalTailerSleepTime = PropertyKey("strata.master.journal.tailer.sleep.time", .duration,
        default: "100ms", "UFS journal: how long a standby waits before looking for new journal records again.")
    public static let masterJournalCheckpointsRetained = PropertyKey("strata.master.journal.checkpoints.retained",
        .integer(min: 1, max: 100), default: "2", "UFS journal: checkpoints kept in the journal folder (logs they cover are removed).")
    public static let secondaryMasterRpcPort = PropertyKey("strata.secondary.master.rpc.port", .port, default: "19990",
        "Port of the secondary master's RPC server (service information and health).")
    public static let secondaryMasterWebPort = PropertyKey("strata.secondary.master.web.port", .port, default: "19991",
        "Port of the secondary master's web server (status and metrics).")
    public static let zookeeperEnabled = PropertyKey("strata.zookeeper.enabled", .boolean, default: "false",
        "Elect the leading master through ZooKeeper (requires strata.master.journal.type=UFS).")
    public static let zookeeperAddress = PropertyKey("strata.zookeeper.address", .addresses, default: nil,
        "ZooKeeper servers, host:port separated by commas.")
    public static let zookeeperSessionTimeout = PropertyKey("strata.zookeeper.session.timeout", .duration, default: "60s",
        "ZooKeeper session timeout: how long after losing touch a master's election node (and leadership) lapses.")
    public static let zookeeperConnectionTimeout = PropertyKey("strata.zookeeper.connection.timeout", .duration, default: "15s",
        "How long a process waits for its first ZooKeeper connection before giving up.")
    public static let zookeeperElectionPath = PropertyKey("strata.zookeeper.election.path", .string, default: "/strata/election",
        "ZooKeeper path under which masters create their election nodes.")
    public static let zookeeperLeaderPath = PropertyKey("strata.zookeeper.leader.path", .string, default: "/strata/leader",
        "ZooKeeper node holding the leading master's RPC address.")
    public static let zookeeperLeaderConnectionErrorPolicy = PropertyKey("strata.zookeeper.leader.connection.error.policy",
        .choice(["SESSION", "STANDARD"]), default: "SESSION",
        "SESSION: a leader keeps leading through a disconnection if its ZooKeeper session survives; STANDARD: it steps down on any disconnection.")
    public static let zookeeperLeaderProbeInterval = PropertyKey("strata.zookeeper.leader.probe.interval", .duration, default: "100ms",
        "How often each election candidate checks the one ahead of it: two refused connections in a row to its RPC port (its process is gone) and the candidate removes its election node at once, rather than waiting for its ZooKeeper session to expire. 0 disables the check.")

    // MARK: Job master
    public static let jobMasterHostname = PropertyKey("strata.job.master.hostname", .string,
        default: "${strata.master.hostname}", "Hostname other processes use to reach this job master.")
    public static let jobMasterBindHost = PropertyKey("strata.job.master.bind.host", .string, default: "0.0.0.0",
        "Address the job master's servers listen on.")
    public static let jobMasterRpcPort = PropertyKey("strata.job.master.rpc.port", .port, default: "20001",
        "Port of the job master's RPC server.")
    public static let jobMasterWebPort = PropertyKey("strata.job.master.web.port", .port, default: "20002",
        "Port of the job master's web UI.")
    public static let jobMasterEmbeddedJournalPort = PropertyKey("strata.job.master.embedded.journal.port", .port,
        default: "20003", "Port of the job master's embedded journal (Raft) server.")
    public static let jobMasterEmbeddedJournalAddresses = PropertyKey("strata.job.master.embedded.journal.addresses",
        .addresses, default: nil,
        "Embedded-journal addresses of every member of the JOB_MASTER quorum; by default the hosts of strata.master.embedded.journal.addresses with strata.job.master.embedded.journal.port.")
    public static let jobMasterRpcAddresses = PropertyKey("strata.job.master.rpc.addresses", .addresses, default: nil,
        "RPC addresses of every job master, for clients and job workers; by default the job masters' journal hosts with the job master RPC port.")
    public static let jobMasterJournalFolder = PropertyKey("strata.job.master.journal.folder", .string,
        default: "${strata.master.journal.folder}/JobJournal",
        "Directory of the job master's journal (with the UFS journal type, a folder every job master shares).")
    public static let zookeeperJobElectionPath = PropertyKey("strata.zookeeper.job.election.path", .string, default: "/strata/job_election",
        "ZooKeeper path under which job masters create their election nodes (UFS journal).")
    public static let zookeeperJobLeaderPath = PropertyKey("strata.zookeeper.job.leader.path", .string, default: "/strata/job_leader",
        "ZooKeeper node holding the leading job master's RPC address (UFS journal).")
    public static let jobMasterWorkerTimeout = PropertyKey("strata.job.master.worker.timeout", .duration, default: "60s",
        "A job worker not heard from for this long is lost: its running tasks are retried on other job workers.")
    public static let jobMasterWorkerHeartbeatInterval = PropertyKey("strata.job.master.worker.heartbeat.interval", .duration, default: "1s",
        "How often a job worker reports to the leading job master (task progress and results; new tasks come back).")
    public static let jobMasterFinishedJobRetentionTime = PropertyKey("strata.job.master.finished.job.retention.time", .duration, default: "1h",
        "How long a finished (completed, failed or canceled) job stays in the job table before it is purged.")
    public static let jobMasterJobCapacity = PropertyKey("strata.job.master.job.capacity", .integer(min: 1, max: 10_000_000), default: "100000",
        "Most jobs the job table holds; a submission beyond it is refused until finished jobs are purged.")
    public static let jobMasterTaskAttemptsMax = PropertyKey("strata.job.master.task.attempts.max", .integer(min: 1, max: 100), default: "3",
        "Attempts a task gets (a lost job worker or a failed run costs one) before its job fails.")
    public static let jobWorkerEnabled = PropertyKey("strata.job.worker.enabled", .boolean, default: "true",
        "Whether a worker process also runs the job-worker role (tasks of the job service).")
    public static let jobWorkerThreadpoolSize = PropertyKey("strata.job.worker.threadpool.size", .integer(min: 1, max: 1024), default: "10",
        "Tasks a job worker runs at once.")
    public static let workerBlockEnabled = PropertyKey("strata.worker.block.enabled", .boolean, default: "true",
        "Whether a worker process runs the block worker (tiered storage, registration with the masters); false for a job-worker-only host.")

    // MARK: Worker
    public static let workerHostname = PropertyKey("strata.worker.hostname", .string, default: "localhost",
        "Hostname other processes use to reach this worker.")
    public static let workerBindHost = PropertyKey("strata.worker.bind.host", .string, default: "0.0.0.0",
        "Address the worker's servers listen on.")
    public static let workerRpcPort = PropertyKey("strata.worker.rpc.port", .port, default: "29999",
        "Port of the worker's RPC and data server.")
    public static let workerWebPort = PropertyKey("strata.worker.web.port", .port, default: "30000",
        "Port of the worker's web UI.")
    public static let jobWorkerRpcPort = PropertyKey("strata.job.worker.rpc.port", .port, default: "30001",
        "Port of the job worker's RPC server (in the worker process).")
    public static let jobWorkerDataPort = PropertyKey("strata.job.worker.data.port", .port, default: "30002",
        "Port of the job worker's data server.")
    public static let jobWorkerWebPort = PropertyKey("strata.job.worker.web.port", .port, default: "30003",
        "Port of the job worker's web UI.")

    // MARK: Journal node
    public static let journalNodeHostname = PropertyKey("strata.journal.node.hostname", .string,
        default: "localhost", "Hostname other processes use to reach this journal node.")
    public static let journalNodeBindHost = PropertyKey("strata.journal.node.bind.host", .string,
        default: "0.0.0.0", "Address the journal node's servers listen on.")
    public static let journalNodeDomains = PropertyKey("strata.journal.node.domains", .choice(["MASTER", "JOB_MASTER", "MASTER,JOB_MASTER"]),
        default: "MASTER", "Quorums this journal node votes in: MASTER, JOB_MASTER or MASTER,JOB_MASTER.")
    public static let journalNodeWebPort = PropertyKey("strata.journal.node.web.port", .port, default: "19300",
        "Port of the journal node's web and metrics server.")

    // MARK: Worker storage and the data path
    public static let workerTieredStoreLevels = PropertyKey("strata.worker.tieredstore.levels", .integer(min: 1, max: 3),
        default: "1", "Number of storage tiers (levels 0..n-1, fastest first).")
    public static let workerTieredStoreLevel0Alias = PropertyKey("strata.worker.tieredstore.level0.alias", .choice(["MEM", "SSD", "HDD"]),
        default: "MEM", "Medium of tier 0.")
    public static let workerTieredStoreLevel0DirsPath = PropertyKey("strata.worker.tieredstore.level0.dirs.path", .string,
        default: "/mnt/ramdisk", "Comma-separated directories of tier 0 (for MEM, on a tmpfs or ramfs).")
    public static let workerTieredStoreLevel0DirsQuota = PropertyKey("strata.worker.tieredstore.level0.dirs.quota", .string,
        default: "${strata.worker.ramdisk.size}", "Comma-separated capacities of tier 0's directories (the last repeats).")
    public static let workerTieredStoreLevel0HighWatermark = PropertyKey("strata.worker.tieredstore.level0.watermark.high.ratio", .ratio,
        default: "0.95", "Tier 0 evicts when a directory is fuller than this share of its quota...")
    public static let workerTieredStoreLevel0LowWatermark = PropertyKey("strata.worker.tieredstore.level0.watermark.low.ratio", .ratio,
        default: "0.7", "...until it is down to this share.")
    public static let workerTieredStoreLevel1Alias = PropertyKey("strata.worker.tieredstore.level1.alias", .choice(["MEM", "SSD", "HDD"]),
        default: "SSD", "Medium of tier 1.")
    public static let workerTieredStoreLevel1DirsPath = PropertyKey("strata.worker.tieredstore.level1.dirs.path", .string,
        default: "${strata.work.dir}/ssd", "Comma-separated directories of tier 1.")
    public static let workerTieredStoreLevel1DirsQuota = PropertyKey("strata.worker.tieredstore.level1.dirs.quota", .string,
        default: "10GB", "Comma-separated capacities of tier 1's directories (the last repeats).")
    public static let workerTieredStoreLevel1HighWatermark = PropertyKey("strata.worker.tieredstore.level1.watermark.high.ratio", .ratio,
        default: "0.95", "High watermark of tier 1.")
    public static let workerTieredStoreLevel1LowWatermark = PropertyKey("strata.worker.tieredstore.level1.watermark.low.ratio", .ratio,
        default: "0.7", "Low watermark of tier 1.")
    public static let workerTieredStoreLevel2Alias = PropertyKey("strata.worker.tieredstore.level2.alias", .choice(["MEM", "SSD", "HDD"]),
        default: "HDD", "Medium of tier 2.")
    public static let workerTieredStoreLevel2DirsPath = PropertyKey("strata.worker.tieredstore.level2.dirs.path", .string,
        default: "${strata.work.dir}/hdd", "Comma-separated directories of tier 2.")
    public static let workerTieredStoreLevel2DirsQuota = PropertyKey("strata.worker.tieredstore.level2.dirs.quota", .string,
        default: "100GB", "Comma-separated capacities of tier 2's directories (the last repeats).")
    public static let workerTieredStoreLevel2HighWatermark = PropertyKey("strata.worker.tieredstore.level2.watermark.high.ratio", .ratio,
        default: "0.95", "High watermark of tier 2.")
    public static let workerTieredStoreLevel2LowWatermark = PropertyKey("strata.worker.tieredstore.level2.watermark.low.ratio", .ratio,
        default: "0.7", "Low watermark of tier 2.")
    public static let workerRamdiskSize = PropertyKey("strata.worker.ramdisk.size", .size,
        default: "1GB", "Capacity of the MEM tier when its quota is not given.")
    public static let workerDataFolder = PropertyKey("strata.worker.data.folder", .string,
        default: "strataworker", "Sub-directory of every tier directory that holds this worker's blocks.")
    public static let workerBlockHeartbeatInterval = PropertyKey("strata.worker.block.heartbeat.interval", .duration,
        default: "1s", "How often a worker reports to every master.")
    public static let masterWorkerTimeout = PropertyKey("strata.master.worker.timeout", .duration,
        default: "5min", "A worker not heard from for this long is lost: its blocks are no longer located there.")
    public static let userBlockSizeBytesDefault = PropertyKey("strata.user.block.size.bytes.default", .size,
        default: "64MB", "Block size of new files.")
    public static let userFileWriteTypeDefault = PropertyKey("strata.user.file.writetype.default",
        .choice(["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"]), default: "ASYNC_THROUGH",
        "How writes reach storage: cache only, cache and under storage, under storage only, or cache now and persist in the background.")
    public static let userFileReadTypeDefault = PropertyKey("strata.user.file.readtype.default", .choice(["CACHE", "CACHE_PROMOTE", "NO_CACHE"]),
        default: "CACHE", "Whether reads cache data on a worker (and move it to the top tier with CACHE_PROMOTE).")
    public static let userShortCircuitEnabled = PropertyKey("strata.user.short.circuit.enabled", .boolean,
        default: "true", "Read block files straight from a worker's directories when the worker runs on this host.")
    public static let userStreamingChunkSize = PropertyKey("strata.user.streaming.chunk.size.bytes", .size,
        default: "1MB", "Size of the data chunks streamed between clients and workers.")
    public static let userStreamingWriterWindow = PropertyKey("strata.user.streaming.writer.window", .integer(min: 1, max: 256),
        default: "16", "Chunks a writer may have sent but not yet acknowledged.")
    public static let userStreamingDataReadTimeout = PropertyKey("strata.user.streaming.data.read.timeout", .duration,
        default: "1s", "Longest a reader waits on a worker that owes it data (a chunk, or the answer to opening a block) before it reads from the next copy or from under storage.")
    public static let userStreamingDataWriteTimeout = PropertyKey("strata.user.streaming.data.write.timeout", .duration,
        default: "10s", "Longest a writer waits for a worker to acknowledge a chunk or a commit before the write fails (the incomplete file is removed).")

    /// Every declared property, in registry order.
    public static let registry: [PropertyKey] = [
        .home, .workDirectory, .logsDirectory, .logLevel,
        .networkMaxInboundMessageSize, .networkConnectTimeout, .userRpcDeadline,
        .userRpcRetryBaseSleep, .userRpcRetryMaxSleep, .userRpcRetryMaxDuration, .userRpcRetryRefusedDurationMax, .userRpcLeaderCheckInterval,
        .masterHostname, .masterBindHost, .masterRpcPort, .masterWebPort, .masterEmbeddedJournalPort,
        .masterEmbeddedJournalAddresses, .masterRpcAddresses, .masterJournalType, .masterJournalFolder,
        .clusterID, .masterMountTableRootUFS, .masterJournalExitOnDemotion,
        .masterBackupDirectory, .masterBackupDelegationEnabled, .masterDailyBackupEnabled, .masterDailyBackupTime,
        .masterDailyBackupFilesRetained, .masterJournalBackupWhenCorrupted,
        .masterEmbeddedJournalElectionTimeoutMin, .masterEmbeddedJournalElectionTimeoutMax, .masterEmbeddedJournalHeartbeatInterval,
        .masterEmbeddedJournalEntrySizeMax, .masterEmbeddedJournalSegmentSize, .masterEmbeddedJournalLogCacheSize, .masterEmbeddedJournalSnapshotReplicationChunkSize,
        .masterEmbeddedJournalSnapshotReplicationCompressionType, .masterEmbeddedJournalUnsafeFlushEnabled,
        .masterJournalFlushBatchTime, .masterJournalCheckpointPeriodEntries, .masterEmbeddedJournalSnapshotsRetained,
        .masterJournalLogSizeBytesMax, .masterJournalTailerSleepTime, .masterJournalCheckpointsRetained,
        .secondaryMasterRpcPort, .secondaryMasterWebPort,
        .zookeeperEnabled, .zookeeperAddress, .zookeeperSessionTimeout, .zookeeperConnectionTimeout,
        .zookeeperElectionPath, .zookeeperLeaderPath, .zookeeperLeaderConnectionErrorPolicy, .zookeeperLeaderProbeInterval,
        .jobMasterHostname, .jobMasterBindHost, .jobMasterRpcPort, .jobMasterWebPort, .jobMasterEmbeddedJournalPort,
        .jobMasterEmbeddedJournalAddresses, .jobMasterRpcAddresses, .jobMasterJournalFolder,
        .zookeeperJobElectionPath, .zookeeperJobLeaderPath, .jobMasterWorkerTimeout, .jobMasterWorkerHeartbeatInterval,
        .jobMasterFinishedJobRetentionTime, .jobMasterJobCapacity, .jobMasterTaskAttemptsMax,
        .jobWorkerEnabled, .jobWorkerThreadpoolSize, .workerBlockEnabled,
        .workerHostname, .workerBindHost, .workerRpcPort, .workerWebPort,
        .jobWorkerRpcPort, .jobWorkerDataPort, .jobWorkerWebPort,
        .journalNodeHostname, .journalNodeBindHost, .journalNodeDomains, .journalNodeWebPort,
        .workerTieredStoreLevels,
        .workerTieredStoreLevel0Alias, .workerTieredStoreLevel0DirsPath, .workerTieredStoreLevel0DirsQuota,
        .workerTieredStoreLevel0HighWatermark, .workerTieredStoreLevel0LowWatermark,
        .workerTieredStoreLevel1Alias, .workerTieredStoreLevel1DirsPath, .workerTieredStoreLevel1DirsQuota,
        .workerTieredStoreLevel1HighWatermark, .workerTieredStoreLevel1LowWatermark,
        .workerTieredStoreLevel2Alias, .workerTieredStoreLevel2DirsPath, .workerTieredStoreLevel2DirsQuota,
        .workerTieredStoreLevel2HighWatermark, .workerTieredStoreLevel2LowWatermark,
        .workerRamdiskSize, .workerDataFolder, .workerBlockHeartbeatInterval, .masterWorkerTimeout,
        .userBlockSizeBytesDefault, .userFileWriteTypeDefault, .userFileReadTypeDefault, .userShortCircuitEnabled,
        .userStreamingChunkSize, .userStreamingWriterWindow, .userStreamingDataReadTimeout, .userStreamingDataWriteTimeout,
    ]

    static let registryByName: [String: PropertyKey] = {
        var byName: [String: PropertyKey] = [:]
        for key in registry {
            precondition(byName[key.name] == nil, "property \(key.name) declared twice")
            byName[key.name] = key
        }
        return byName
    }()

    /// The declared property with this name, or nil.
    public static func named(_ name: String) -> PropertyKey? { registryByName[name] }
}
