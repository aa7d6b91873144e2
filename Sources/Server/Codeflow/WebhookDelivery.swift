import Commands
import Events
import Foundation

/// A GitLab or GitHub delivery, read from its documented payload: which repository, what happened, who did it,
/// and what (if anything) it asks to build.
struct WebhookDelivery {
    enum Provider: String { case gitlab, github }

    let provider: Provider
    let delivery: String
    /// "push", "tag_push", "merge_request", "pull_request", "ping", ...
    let event: String
    /// Every address the payload gives for the repository (HTTP, SSH, web).
    let repositories: [String]
    let ref: String
    let user: String
    /// What to build; nil with `ignoredBecause` when the delivery builds nothing.
    let target: Target?
    let ignoredBecause: String?

    struct Target {
        /// The branch or tag name the codeflow's globs are matched against.
        var name: String
        var ref: String
        var commit: String
    }

    static let zeroCommit = String(repeating: "0", count: 40)

    static func gitlab(_ p: [String: Any], delivery: String) -> WebhookDelivery {
        let kind = p["object_kind"] as? String ?? "unknown"
        let project = p["project"] as? [String: Any] ?? [:]
        let repository = p["repository"] as? [String: Any] ?? [:]
        let urls = [project["git_http_url"], project["git_ssh_url"], project["web_url"], repository["git_http_url"], repository["git_ssh_url"],
                    repository["url"], repository["homepage"]].compactMap { $0 as? String }
        let user = (p["user_username"] as? String) ?? ((p["user"] as? [String: Any])?["username"] as? String) ?? (p["user_name"] as? String) ?? "unknown"
        switch kind {
        case "push", "tag_push":
            let ref = p["ref"] as? String ?? ""
            let after = p["after"] as? String ?? ""
            let commit = (p["checkout_sha"] as? String) ?? after
            return pushed(provider: .gitlab, delivery: delivery, event: kind, urls: urls, ref: ref, after: after, commit: commit,
                          deleted: after == zeroCommit, user: user)
        case "merge_request":
            let a = p["object_attributes"] as? [String: Any] ?? [:]
            let branch = a["target_branch"] as? String ?? ""
            let action = a["action"] as? String ?? ""
            guard action == "merge" || (a["state"] as? String == "merged" && action.isEmpty) else {
                return WebhookDelivery(provider: .gitlab, delivery: delivery, event: kind, repositories: urls, ref: "refs/heads/\(branch)", user: user,
                                       target: nil, ignoredBecause: "merge request \(action.isEmpty ? "event" : action) is not a merge")
            }
            let commit = (a["merge_commit_sha"] as? String) ?? (a["squash_commit_sha"] as? String) ?? ((a["last_commit"] as? [String: Any])?["id"] as? String) ?? ""
            return target(provider: .gitlab, delivery: delivery, event: kind, urls: urls, name: branch, ref: "refs/heads/\(branch)", commit: commit, user: user)
        default:
            return WebhookDelivery(provider: .gitlab, delivery: delivery, event: kind, repositories: urls, ref: "", user: user, target: nil,
                                   ignoredBecause: "\(kind) events build nothing")
        }
    }

    static func github(_ p: [String: Any], event: String, delivery: String) -> WebhookDelivery {
        let repository = p["repository"] as? [String: Any] ?? [:]
        let urls = [repository["clone_url"], repository["ssh_url"], repository["html_url"], repository["git_url"], repository["url"]]
            .compactMap { $0 as? String }
        let user = ((p["sender"] as? [String: Any])?["login"] as? String) ?? ((p["pusher"] as? [String: Any])?["name"] as? String) ?? "unknown"
        switch event {
        case "push":
            let ref = p["ref"] as? String ?? ""
            let after = p["after"] as? String ?? ""
            return pushed(provider: .github, delivery: delivery, event: ref.hasPrefix("refs/tags/") ? "tag_push" : "push", urls: urls, ref: ref,
                          after: after, commit: after, deleted: (p["deleted"] as? Bool ?? false) || after == zeroCommit, user: user)
        case "pull_request":
            let pr = p["pull_request"] as? [String: Any] ?? [:]
            let branch = (pr["base"] as? [String: Any])?["ref"] as? String ?? ""
            guard p["action"] as? String == "closed", pr["merged"] as? Bool == true else {
                return WebhookDelivery(provider: .github, delivery: delivery, event: event, repositories: urls, ref: "refs/heads/\(branch)", user: user,
                                       target: nil, ignoredBecause: "pull request \(p["action"] as? String ?? "event") is not a merge")
            }
            return target(provider: .github, delivery: delivery, event: event, urls: urls, name: branch, ref: "refs/heads/\(branch)",
                          commit: pr["merge_commit_sha"] as? String ?? "", user: user)
        default:
            return WebhookDelivery(provider: .github, delivery: delivery, event: event, repositories: urls, ref: "", user: user, target: nil,
                                   ignoredBecause: "\(event) events build nothing")
        }
    }

    private static func pushed(provider: Provider, delivery: String, event: String, urls: [String], ref: String, after: String, commit: String,
                               deleted: Bool, user: String) -> WebhookDelivery {
        if deleted {
            return WebhookDelivery(provider: provider, delivery: delivery, event: event, repositories: urls, ref: ref, user: user, target: nil,
                                   ignoredBecause: "\(ref) was deleted")
        }
        let name = ref.hasPrefix("refs/heads/") ? String(ref.dropFirst(11)) : ref.hasPrefix("refs/tags/") ? String(ref.dropFirst(10)) : ref
        return target(provider: provider, delivery: delivery, event: event, urls: urls, name: name, ref: ref, commit: commit, user: user)
    }

    private static func target(provider: Provider, delivery: String, event: String, urls: [String], name: String, ref: String, commit: String,
                               user: String) -> WebhookDelivery {
        guard CodeflowValidation.isCommit(commit), CodeflowValidation.isRef(ref), !name.isEmpty else {
            return WebhookDelivery(provider: provider, delivery: delivery, event: event, repositories: urls, ref: ref, user: user, target: nil,
                                   ignoredBecause: "the payload names no valid ref and commit")
        }
        return WebhookDelivery(provider: provider, delivery: delivery, event: event, repositories: urls, ref: ref, user: user,
                               target: Target(name: name, ref: ref, commit: commit), ignoredBecause: nil)
    }

    /// The actor of the commands a delivery causes: "webhook:gitlab:<username>", the name as the payload states it
    /// (reduced to [A-Za-z0-9._-]).
    var actor: String {
        let clean = String(user.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }.prefix(100))
        return "webhook:\(provider.rawValue):\(clean.isEmpty ? "unknown" : clean)"
    }

    /// One line of at most `limit` bytes, for the ignored record.
    static func line(_ s: String, _ limit: Int) -> String {
        var out = String(s.map { $0.isNewline ? " " : $0 })
        while out.utf8.count > limit { out.removeLast() }
        return out
    }
}
