import EventLog
import Foundation

/// Runs a build script (or a preprocess script) the way a careless script cannot hurt the build host:
/// as root-started Wharf, in a mount and PID namespace of its own (`unshare`), as an unprivileged user (`setpriv`,
/// no new privileges, at a lower CPU priority than the control plane), with private /tmp, /var/tmp and /dev/shm, a clean environment, address-space, process and
/// core limits (`prlimit`) and a time limit. The workspace is bind-mounted at /mnt; the script runs in /mnt/src.
/// Everything it started dies with it: this shell stays the namespace's first process (it does not exec the script,
/// whose user change would clear the parent-death signal), and when it dies, killed with Wharf's process group on a
/// cancel or by `unshare --kill-child`, the kernel kills every process left in the namespace.
/// When Wharf does not run as root none of that is possible: the script runs as Wharf's own user with the limits
/// only, and the build log says so on its first line.
struct ScriptSandbox {
    let settings: BuildSettings

    static var isolated: Bool { geteuid() == 0 }

    static let setup = """
        set -e
        ws="$1"; uid="$2"; gid="$3"; t="$4"; mem="$5"; nproc="$6"
        mount --bind "$ws" /mnt
        for d in /tmp /var/tmp /dev/shm /run/lock; do
          if [ -d "$d" ]; then mount -t tmpfs -o mode=1777,nosuid,nodev,size=1g tmpfs "$d"; fi
        done
        mount -t proc proc /proc 2>/dev/null || true
        cd /mnt/src
        set +e
        setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- \\
          /usr/bin/env -i HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 WHARF_BUILD=1 \\
          nice -n 10 prlimit --as=$((mem * 1024 * 1024)) --nproc="$nproc" --core=0 -- timeout -s KILL "$t" /bin/sh -e /mnt/script.sh
        status=$?
        exit $status
        """

    /// Runs `script` with `workspace/src` as its working directory; `workspace/script.sh` is written here.
    func run(_ script: String, workspace: String, what: String, timeLimitSeconds: Int, log: BuildLogFile,
             cancellation: ChildProcess.Cancellation) async throws {
        let scriptPath = workspace + "/script.sh"
        try Data(script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        chmod(scriptPath, 0o644)
        // The outer limit leaves the inner `timeout` its chance to kill first.
        let outer = Duration.seconds(timeLimitSeconds + 30)
        if Self.isolated {
            guard let unshare = BuildSettings.findOnPath("unshare") else { throw BuildFailure("unshare (util-linux) is not installed on this node") }
            try chown(tree: workspace + "/src", uid: settings.buildUID, gid: settings.buildGID)
            log.line("sandbox: uid \(settings.buildUID), own mount and PID namespaces, private /tmp, \(settings.memoryMiB) MiB address space, "
                + "\(settings.maxProcesses) processes, \(timeLimitSeconds) s")
            try await BuildStep.run([unshare, "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private", "--", "/bin/sh", "-c", Self.setup,
                                     "wharf-sandbox", workspace, String(settings.buildUID), String(settings.buildGID), String(timeLimitSeconds),
                                     String(settings.memoryMiB), String(settings.maxProcesses)],
                                    shownAs: "/bin/sh -e script.sh  (\(what), sandboxed)", what: what, log: log,
                                    timeLimit: outer, cancellation: cancellation)
        } else {
            log.line("sandbox: NOT isolated: Wharf does not run as root, so the script runs as uid \(geteuid()) with limits only")
            let script = "cd \"$1/src\" && exec nice -n 10 prlimit --as=$(( $2 * 1024 * 1024 )) --core=0 -- timeout -s KILL \"$3\" /bin/sh -e \"$1/script.sh\""
            try await BuildStep.run(["/bin/sh", "-c", script, "wharf-build", workspace, String(settings.memoryMiB), String(timeLimitSeconds)],
                                    shownAs: "/bin/sh -e script.sh  (\(what))", what: what, log: log,
                                    environment: ["HOME=\(workspace)", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "WHARF_BUILD=1"],
                                    timeLimit: outer, cancellation: cancellation)
        }
    }

    private func chown(tree: String, uid: UInt32, gid: UInt32) throws {
        guard let e = FileManager.default.enumerator(atPath: tree) else { return }
        Glibc.lchown(tree, uid, gid)
        while let relative = e.nextObject() as? String { Glibc.lchown(tree + "/" + relative, uid, gid) }
    }
}
