"""A single-node SLURM cluster on localhost, for the integration test of profiles/slurm: munged,
slurmctld and slurmd started from a configuration written into one temporary folder (their state,
spool, logs and sockets there too), stopped by the process ids this module started."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol")


def missing_tools() -> list:
    return [tool for tool in (*DAEMONS, *CLIENTS) if shutil.which(tool) is None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return total_kb // 1024


class Cluster:
    """`with Cluster(folder) as cluster:` a cluster of one node with every CPU of this machine and
    half its memory, one partition (`test`); `cluster.env` is the environment its clients need."""

    partition = "test"

    def __init__(self, root: Path):
        self.root = root
        self.node = socket.gethostname().split(".")[0]  # slurmctld knows itself by this name
        self.processes = {}
        self.conf = root / "slurm.conf"
        self.bin = root / "bin"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), "PATH": f"{self.bin}:{os.environ['PATH']}"}

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        for folder in ("state", "spool", "munge", "bin"):
            (self.root / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        # Inside a job, the executor plugin drops every SLURM_* variable before it calls srun, and
        # SLURM_CONF is the only way to this configuration: srun gets it back from a wrapper.
        srun = self.bin / "srun"
        srun.write_text(f"#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which('srun')} \"$@\"\n")
        srun.chmod(0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._start("munged", ["munged", "--foreground", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
                               f"--pid-file={self.root / 'munge' / 'munged.pid'}", f"--seed-file={self.root / 'munge' / 'seed'}",
                               f"--log-file={self.root / 'munge' / 'munged.log'}"])
        self._wait(self.munge_socket.exists, "munged's socket")
        self.conf.write_text(self.configuration())
        self._start("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._client("scontrol", "ping").returncode == 0, "slurmctld to answer")
        self._start("slurmd", ["slurmd", "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait(lambda: self._client("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle", "the node to be idle")

    def configuration(self) -> str:
        """slurm.conf: no accounting database (job states come from squeue, so finished jobs stay
        listed an hour), no cgroups (a container may not delegate them), quick kills (scancel tests)."""
        root = self.root
        return "\n".join([
            "ClusterName=unimatrix-test",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "MinJobAge=3600",
            "KillWait=5",
            "ReturnToService=2",
            "SlurmdParameters=config_overrides",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory_mb() // 2} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ])

    def stop(self) -> None:
        """Cancel what still runs (a job's processes are slurmd's, not ours), then end the daemons."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            for job, state in self.jobs():
                if state in ("PENDING", "RUNNING"):
                    self._client("scancel", job)
            with contextlib.suppress(TimeoutError, RuntimeError):
                self._wait(lambda: not any(state in ("RUNNING", "COMPLETING") for _, state in self.jobs()),
                           "the cancelled jobs to end", timeout=30)
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def jobs(self) -> list:
        """[(job id, state)] of every job slurmctld remembers."""
        listed = self._client("squeue", "-h", "-t", "all", "-o", "%i %T").stdout
        return [tuple(line.split()) for line in listed.splitlines()]

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def _client(self, *argv) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True)

    def _start(self, name: str, argv: list) -> None:
        with open(self.root / f"{name}.out", "w") as out:
            self.processes[name] = subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}: "
                                       f"{(self.root / f'{name}.out').read_text(errors='replace')[-2000:]}")
            if time.time() > deadline:
                raise TimeoutError(f"waited {timeout} s for {what}; logs in {self.root}")
            time.sleep(0.5)
