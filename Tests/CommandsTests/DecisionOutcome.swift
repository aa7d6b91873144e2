import Commands
import Events

/// A decision as the API answers it: "accepted", "unchanged" (what the command asked for held already) or the
/// rejection code ("not_found", "conflict", "invalid").
func outcome(_ decision: Result<[Event], Rejection>) -> String {
    switch decision {
    case .failure(let rejection): return rejection.code.rawValue
    case .success(let events): return events.count == 1 && events[0].as(CommandUnchanged.self) != nil ? "unchanged" : "accepted"
    }
}
