import Events

struct CreateUserRequest: Decodable {
    var name: String
    var displayName: String
    var email: String
    static let shape: [String: StrictJSON.Shape] = ["name": .value, "displayName": .value, "email": .value]
}

struct DisabledRequest: Decodable {
    var disabled: Bool
    static let shape: [String: StrictJSON.Shape] = ["disabled": .value]
}

struct CreateTokenRequest: Decodable {
    var description: String
    var expiresAt: String?
    static let shape: [String: StrictJSON.Shape] = ["description": .value, "expiresAt": .value]
}

struct PlatformRolesRequest: Decodable {
    var roles: [PlatformRole]
    static let shape: [String: StrictJSON.Shape] = ["roles": .array(.value)]
}

struct CreateBusinessLineRequest: Decodable {
    var name: String
    var displayName: String
    static let shape: [String: StrictJSON.Shape] = ["name": .value, "displayName": .value]
}

struct MemberRoleRequest: Decodable {
    var role: LineRole
    static let shape: [String: StrictJSON.Shape] = ["role": .value]
}
