use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::roles::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub roles: Vec<Role>,
    pub branch: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The account's token version when issued; a password change bumps it,
    /// which makes every older token invalid.
    pub tv: i32,
}

/// Issues and checks HS256 access tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    /// The signing key's, then the previous key's (during a rotation).
    decoding: Vec<DecodingKey>,
    validation: Validation,
    pub ttl_secs: u64,
    /// Key material for the console's session cookies, derived from the signing
    /// key (so there is one secret to keep): SHA-512 of a label and the key.
    session_master: [u8; 64],
}

impl Tokens {
    pub fn new(secret: &SecretString, ttl_secs: u64) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Tokens {
            encoding: EncodingKey::from_secret(key),
            decoding: vec![DecodingKey::from_secret(key)],
            validation,
            ttl_secs,
            session_master: {
                use sha2::{Digest, Sha512};
                Sha512::new().chain_update(b"awards console session v1\0").chain_update(key).finalize().into()
            },
        }
    }

    /// The master key of the console's session cookies.
    pub fn session_master(&self) -> &[u8; 64] {
        &self.session_master
    }

    pub fn issue(&self, user_id: i64, roles: Vec<Role>, branch: Option<i64>, token_version: i32) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            roles,
            branch,
            iat: now,
            exp: now + self.ttl_secs as i64,
            jti: uuid_like(),
            tv: token_version,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// The claims of a valid, unexpired token signed with our key; None otherwise.
    /// Also accepts tokens signed with `previous`: rotating the key then
    /// signs nobody out; tokens of the old key expire within the token TTL,
    /// after which the previous key can be dropped.
    pub fn with_previous(mut self, previous: Option<&SecretString>) -> Self {
        if let Some(previous) = previous {
            self.decoding.push(DecodingKey::from_secret(previous.expose_secret().as_bytes()));
        }
        self
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        self.decoding
            .iter()
            .find_map(|key| decode::<Claims>(token, key, &self.validation).ok())
            .map(|data| data.claims)
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    hex::encode(rand::thread_rng().gen::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(&SecretString::from(secret), 3600)
    }

    #[test]
    fn round_trip() {
        let t = tokens("k".repeat(32).as_str());
        let token = t.issue(7, vec![Role::Admin, Role::Employee], Some(3), 2);
        let claims = t.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.branch, claims.tv), ("7", Some(3), 2));
        assert_eq!(claims.jti.len(), 32);
    }

    #[test]
    fn forged_tokens_are_refused() {
        let t = tokens("k".repeat(32).as_str());
        let token = t.issue(7, vec![Role::Employee], None, 0);
        assert!(tokens("x".repeat(32).as_str()).verify(&token).is_none(), "other key");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap();
        let forged = b64.encode(payload.replace("\"employee\"", "\"admin\""));
        assert!(t.verify(&format!("{}.{}.{}", parts[0], forged, parts[2])).is_none(), "tampered");
        let none = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(t.verify(&format!("{none}.{}.", parts[1])).is_none(), "alg none");
        assert!(t.verify("garbage").is_none());
    }

    #[test]
    fn a_rotated_key_still_accepts_the_previous_one() {
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let before = tokens(&old).issue(7, vec![Role::Employee], None, 0);
        let rotated = tokens(&new).with_previous(Some(&SecretString::from(old.clone())));
        assert_eq!(rotated.verify(&before).unwrap().sub, "7");
        assert!(tokens(&new).verify(&before).is_none(), "not once the previous key is dropped");
        let after = rotated.issue(8, vec![Role::Employee], None, 0);
        assert!(tokens(&new).verify(&after).is_some(), "signed with the new key");
        assert!(tokens(&old).verify(&after).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let t = tokens("k".repeat(32).as_str());
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "1".into(),
            roles: vec![],
            branch: None,
            iat: now - 100,
            exp: now - 1,
            jti: "j".into(),
            tv: 0,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &t.encoding).unwrap();
        assert!(t.verify(&token).is_none());
    }
}
