//! The service-discovery blocks of a scrape job (and of an Alertmanager entry) that Tidemark
//! parses and validates but does not run, and the list of every mechanism Prometheus 3.5 (as
//! Debian builds it) knows.
//!
//! Implemented mechanisms (`static_configs`, `file_sd_configs`, `kubernetes_sd_configs`,
//! `http_sd_configs`, `dns_sd_configs`) have typed configurations. The others are checked
//! against the field list of their Prometheus 3.5 configuration (unknown fields are errors, as
//! Prometheus decodes YAML strictly), their inline HTTP client configuration is validated like
//! any other, and the checks of each mechanism's own unmarshalling (required fields, roles, URL
//! shapes, as observed against promtool 3.5) are made too. A job
//! using one loads, and carries an [`UnimplementedSd`] entry: the server warns about it at every
//! load and shows the job as "not implemented".
//!
//! Debian's 3.5 build omits some cloud mechanisms (`azure`, `consul`, `kuma`, `nomad`,
//! `openstack`, ...); those keys are unknown fields there and here.

use std::fmt;

use serde_yaml::{Mapping, Value};

use super::http::HttpClientConfig;

/// Every `<name>_sd_configs` key Debian's Prometheus 3.5.3 accepts in a scrape job or an
/// Alertmanager entry, implemented or not (besides `static_configs`).
pub const KNOWN_SD_MECHANISMS: [&str; 23] = [
    "digitalocean",
    "dns",
    "docker",
    "dockerswarm",
    "ec2",
    "eureka",
    "file",
    "gce",
    "hetzner",
    "http",
    "ionos",
    "kubernetes",
    "lightsail",
    "linode",
    "marathon",
    "nerve",
    "ovhcloud",
    "puppetdb",
    "scaleway",
    "serverset",
    "triton",
    "uyuni",
    "vultr",
];

/// The service-discovery mechanisms Tidemark runs.
pub const IMPLEMENTED_SD_MECHANISMS: [&str; 5] = ["static", "file", "kubernetes", "http", "dns"];

/// The inline HTTP client fields (prometheus/common's `HTTPClientConfig`).
pub(crate) const HTTP_CLIENT_FIELDS: [&str; 13] = [
    "basic_auth",
    "authorization",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "follow_redirects",
    "enable_http2",
    "http_headers",
];

/// How one unimplemented mechanism's entries look in Prometheus 3.5.
struct Schema {
    /// The mechanism (`ec2` for `ec2_sd_configs`).
    name: &'static str,
    /// Its own fields.
    fields: &'static [&'static str],
    /// Whether the HTTP client fields are inline too (`tls_config` alone for triton).
    http_client: HttpFields,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HttpFields {
    None,
    TlsOnly,
    All,
}

const SCHEMAS: &[Schema] = &[
    Schema {
        name: "digitalocean",
        fields: &["port", "refresh_interval"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "docker",
        fields: &[
            "host",
            "port",
            "host_networking_host",
            "match_first_network",
            "filters",
            "refresh_interval",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "dockerswarm",
        fields: &["host", "role", "port", "filters", "refresh_interval"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "ec2",
        fields: &[
            "region",
            "endpoint",
            "access_key",
            "secret_key",
            "profile",
            "role_arn",
            "refresh_interval",
            "port",
            "filters",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "eureka",
        fields: &["server", "refresh_interval"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "gce",
        fields: &[
            "project",
            "zone",
            "filter",
            "refresh_interval",
            "port",
            "tag_separator",
        ],
        http_client: HttpFields::None,
    },
    Schema {
        name: "hetzner",
        fields: &["role", "port", "refresh_interval", "label_selector"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "ionos",
        fields: &["datacenter_id", "port", "refresh_interval"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "lightsail",
        fields: &[
            "region",
            "endpoint",
            "access_key",
            "secret_key",
            "profile",
            "role_arn",
            "refresh_interval",
            "port",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "linode",
        fields: &["region", "port", "tag_separator", "refresh_interval"],
        http_client: HttpFields::All,
    },
    Schema {
        name: "marathon",
        fields: &[
            "servers",
            "refresh_interval",
            "auth_token",
            "auth_token_file",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "nerve",
        fields: &["servers", "paths", "timeout"],
        http_client: HttpFields::None,
    },
    Schema {
        name: "ovhcloud",
        fields: &[
            "application_key",
            "application_secret",
            "consumer_key",
            "service",
            "endpoint",
            "refresh_interval",
        ],
        http_client: HttpFields::None,
    },
    Schema {
        name: "puppetdb",
        fields: &[
            "url",
            "query",
            "include_parameters",
            "refresh_interval",
            "port",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "scaleway",
        fields: &[
            "access_key",
            "secret_key",
            "secret_key_file",
            "project_id",
            "role",
            "port",
            "api_url",
            "zone",
            "name_filter",
            "tags_filter",
            "refresh_interval",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "serverset",
        fields: &["servers", "paths", "timeout"],
        http_client: HttpFields::None,
    },
    Schema {
        name: "triton",
        fields: &[
            "account",
            "role",
            "dns_suffix",
            "endpoint",
            "groups",
            "port",
            "refresh_interval",
            "version",
        ],
        http_client: HttpFields::TlsOnly,
    },
    Schema {
        name: "uyuni",
        fields: &[
            "server",
            "username",
            "password",
            "entitlement",
            "separator",
            "refresh_interval",
        ],
        http_client: HttpFields::All,
    },
    Schema {
        name: "vultr",
        fields: &["port", "refresh_interval"],
        http_client: HttpFields::All,
    },
];

/// One entry of a discovery mechanism Tidemark parses but does not run. Its `Debug` masks the
/// entry's secret fields.
#[derive(Clone, PartialEq)]
pub struct UnimplementedSd {
    /// The mechanism, e.g. `ec2` (from `ec2_sd_configs`).
    pub mechanism: String,
    /// The position of the entry within its `<mechanism>_sd_configs` list.
    pub index: usize,
    /// The entry as written.
    pub config: Mapping,
}

impl fmt::Debug for UnimplementedSd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnimplementedSd")
            .field("mechanism", &self.mechanism)
            .field("index", &self.index)
            .field(
                "config",
                &super::show::mask_by_name(&Value::Mapping(self.config.clone())),
            )
            .finish()
    }
}

impl fmt::Display for UnimplementedSd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_sd_configs[{}]", self.mechanism, self.index)
    }
}

/// Validates the entries of `<mechanism>_sd_configs` for an unimplemented mechanism; the
/// error is `(message, field)`.
pub(crate) fn check_unimplemented(
    mechanism: &str,
    entries: &[Value],
) -> Result<Vec<UnimplementedSd>, (String, String)> {
    let field = format!("{mechanism}_sd_configs");
    let schema = SCHEMAS
        .iter()
        .find(|s| s.name == mechanism)
        .ok_or_else(|| (format!("unknown field {field:?}"), field.clone()))?;
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let map = match entry {
            Value::Mapping(m) => m.clone(),
            Value::Null => Mapping::new(),
            other => {
                return Err((
                    format!("invalid type: expected a mapping, found {}", kind(other)),
                    at,
                ))
            }
        };
        let mut http = Mapping::new();
        for (k, v) in &map {
            let key = k.as_str().unwrap_or_default();
            let is_http = match schema.http_client {
                HttpFields::All => HTTP_CLIENT_FIELDS.contains(&key),
                HttpFields::TlsOnly => key == "tls_config",
                HttpFields::None => false,
            };
            if is_http {
                http.insert(k.clone(), v.clone());
            } else if !schema.fields.contains(&key) {
                return Err((format!("unknown field {key:?}"), at));
            }
        }
        let client: HttpClientConfig = serde_yaml::from_value(Value::Mapping(http))
            .map_err(|e| (super::sections::yaml_message(&e), at.clone()))?;
        check_value_types(&map, schema.fields).map_err(|m| (m, at.clone()))?;
        client.validate().map_err(|m| (m, at.clone()))?;
        check_mechanism(schema.name, &map).map_err(|m| (m, at.clone()))?;
        out.push(UnimplementedSd {
            mechanism: mechanism.to_owned(),
            index,
            config: map,
        });
    }
    Ok(out)
}

/// Whether `key` is present with a non-empty value.
fn present(map: &Mapping, key: &str) -> bool {
    map.get(key).is_some_and(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        _ => true,
    })
}

/// The value of `key` as text (`""` when absent or not a scalar).
fn text(map: &Mapping, key: &str) -> String {
    match map.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// Requires each of `fields` in order, with Prometheus's message for the first one missing.
fn require(map: &Mapping, fields: &[(&str, &str)]) -> Result<(), String> {
    for (field, message) in fields {
        if !present(map, field) {
            return Err((*message).to_owned());
        }
    }
    Ok(())
}

/// `scheme://host...` with an http(s) scheme, as the URL checks of HTTP-based mechanisms.
fn check_http_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("URL scheme must be 'http' or 'https'".to_owned());
    }
    if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        return Err("host is missing in URL".to_owned());
    }
    Ok(())
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The checks each mechanism's own `UnmarshalYAML` makes in Prometheus 3.5 (required fields,
/// allowed roles, URL shapes), with its messages, in its order as far as observed against
/// promtool.
fn check_mechanism(name: &str, map: &Mapping) -> Result<(), String> {
    match name {
        "docker" => require(map, &[("host", "host missing")]),
        "dockerswarm" => {
            require(
                map,
                &[
                    ("host", "host missing"),
                    ("role", "role missing (one of: tasks, services, nodes)"),
                ],
            )?;
            let role = text(map, "role");
            if !matches!(role.to_lowercase().as_str(), "tasks" | "services" | "nodes") {
                return Err(format!(
                    "invalid role {role}, expected tasks, services, or nodes"
                ));
            }
            Ok(())
        }
        // Prometheus asks the EC2 metadata service for a missing region and refuses the config
        // when it cannot reach one (as off EC2); Tidemark never asks, so it always refuses.
        "ec2" => require(map, &[("region", "EC2 SD configuration requires a region")]),
        "lightsail" => require(
            map,
            &[("region", "Lightsail SD configuration requires a region")],
        ),
        "eureka" => {
            require(map, &[("server", "eureka_sd: empty or null eureka server")])?;
            let server = text(map, "server");
            let (scheme, rest) = server.split_once("://").unwrap_or(("", ""));
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            if scheme.is_empty() || host.is_empty() || server.contains(char::is_whitespace) {
                return Err("eureka_sd: invalid eureka server URL".to_owned());
            }
            Ok(())
        }
        "gce" => require(
            map,
            &[
                ("project", "GCE SD configuration requires a project"),
                ("zone", "GCE SD configuration requires a zone"),
            ],
        ),
        "hetzner" => {
            require(map, &[("role", "role missing (one of: robot, hcloud)")])?;
            let role = text(map, "role");
            if !matches!(role.as_str(), "robot" | "hcloud") {
                return Err(format!("unknown role {role:?}"));
            }
            Ok(())
        }
        "ionos" => require(map, &[("datacenter_id", "datacenter id can't be empty")]),
        "marathon" => {
            require(
                map,
                &[(
                    "servers",
                    "marathon_sd: must contain at least one Marathon server",
                )],
            )?;
            let auths = ["basic_auth", "auth_token", "auth_token_file"]
                .iter()
                .filter(|k| present(map, k))
                .count();
            if auths > 1 {
                return Err("marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured".to_owned());
            }
            Ok(())
        }
        "nerve" | "serverset" => {
            require(
                map,
                &[
                    (
                        "servers",
                        if name == "nerve" {
                            "nerve SD config must contain at least one Zookeeper server"
                        } else {
                            "serverset SD config must contain at least one Zookeeper server"
                        },
                    ),
                    (
                        "paths",
                        if name == "nerve" {
                            "nerve SD config must contain at least one path"
                        } else {
                            "serverset SD config must contain at least one path"
                        },
                    ),
                ],
            )?;
            if let Some(Value::Sequence(paths)) = map.get("paths") {
                for p in paths {
                    let p = p.as_str().unwrap_or_default();
                    if !p.starts_with('/') {
                        return Err(format!("{name} SD config paths must begin with '/': {p}"));
                    }
                }
            }
            Ok(())
        }
        "ovhcloud" => {
            require(
                map,
                &[
                    ("application_key", "application key can not be empty"),
                    ("application_secret", "application secret can not be empty"),
                    ("consumer_key", "consumer key can not be empty"),
                ],
            )?;
            let service = text(map, "service");
            if !matches!(service.as_str(), "vps" | "dedicated_server") {
                return Err(format!("unknown service: {service}"));
            }
            Ok(())
        }
        "puppetdb" => {
            require(map, &[("url", "URL is missing")])?;
            check_http_url(&text(map, "url"))?;
            require(map, &[("query", "query missing")])
        }
        "scaleway" => {
            require(
                map,
                &[("role", "role missing (one of: instance, baremetal)")],
            )?;
            let role = text(map, "role");
            if !matches!(role.as_str(), "instance" | "baremetal") {
                return Err(format!("unknown role {role:?}"));
            }
            require(map, &[("project_id", "project_id is mandatory")])?;
            if !present(map, "secret_key") && !present(map, "secret_key_file") {
                return Err("one of secret_key & secret_key_file must be configured".to_owned());
            }
            require(map, &[("access_key", "access_key is mandatory")])?;
            let access = text(map, "access_key");
            let ok = access.len() == 20
                && access.starts_with("SCW")
                && access[3..]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !ok {
                return Err(format!("scaleway-sdk-go: invalid access key format '{access}', expected SCWXXXXXXXXXXXXXXXXX format"));
            }
            let secret = text(map, "secret_key");
            if present(map, "secret_key") && !is_uuid(&secret) {
                return Err(format!("scaleway-sdk-go: invalid secret key format '{secret}', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"));
            }
            let project = text(map, "project_id");
            if !is_uuid(&project) {
                return Err(format!("scaleway-sdk-go: invalid project ID format '{project}', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"));
            }
            // The SDK's zone format `^[a-z]{2}-[a-z]{3}-[1-9]$`; its message lists the zones
            // the SDK vendored by Debian's 3.5 knows.
            let zone = text(map, "zone");
            let b = zone.as_bytes();
            let zone_ok = b.len() == 8
                && b[..2].iter().all(u8::is_ascii_lowercase)
                && b[2] == b'-'
                && b[3..6].iter().all(u8::is_ascii_lowercase)
                && b[6] == b'-'
                && (b'1'..=b'9').contains(&b[7]);
            if present(map, "zone") && !zone_ok {
                return Err(format!("scaleway-sdk-go: invalid default zone format '{zone}', available zones are: fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3"));
            }
            Ok(())
        }
        "triton" => {
            require(
                map,
                &[
                    ("account", "triton SD configuration requires an account"),
                    (
                        "dns_suffix",
                        "triton SD configuration requires a dns_suffix",
                    ),
                    ("endpoint", "triton SD configuration requires an endpoint"),
                ],
            )?;
            let role = text(map, "role");
            if !matches!(role.as_str(), "" | "container" | "cn") {
                return Err(
                    "triton SD configuration requires role to be 'container' or 'cn'".to_owned(),
                );
            }
            Ok(())
        }
        "uyuni" => require(
            map,
            &[
                ("server", "Uyuni SD configuration requires server host"),
                ("username", "Uyuni SD configuration requires a username"),
                ("password", "Uyuni SD configuration requires a password"),
            ],
        ),
        _ => Ok(()),
    }
}

/// How Go's strict YAML decoding types a mechanism's own field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldType {
    /// A string: any scalar is accepted (Go's decoder turns numbers and booleans into text).
    Str,
    /// An integer: any number.
    Int,
    /// A boolean.
    Bool,
    /// A duration string.
    Duration,
    /// A list of strings.
    StrList,
    /// A list of `{name, values}` filters (docker, dockerswarm, ec2).
    Filters,
}

fn field_type(name: &str) -> FieldType {
    match name {
        "port" | "version" => FieldType::Int,
        "match_first_network" | "include_parameters" => FieldType::Bool,
        "refresh_interval" | "timeout" => FieldType::Duration,
        "servers" | "paths" | "tags_filter" | "groups" => FieldType::StrList,
        "filters" => FieldType::Filters,
        _ => FieldType::Str,
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

fn check_str_list(key: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::Null => Ok(()),
        Value::Sequence(items) if items.iter().all(is_scalar) => Ok(()),
        other => Err(format!(
            "invalid type: {} for {key}, expected a list of strings",
            kind(other)
        )),
    }
}

/// The type checks of Go's strict decoding for the mechanism's own fields.
fn check_value_types(map: &Mapping, own_fields: &[&str]) -> Result<(), String> {
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        // The HTTP client fields are typed by their own deserialization.
        if v.is_null() || !own_fields.contains(&key) {
            continue;
        }
        let wrong =
            |expected: &str| format!("invalid type: {} for {key}, expected {expected}", kind(v));
        match field_type(key) {
            FieldType::Str if !is_scalar(v) => return Err(wrong("a string")),
            FieldType::Int if !v.is_number() => return Err(wrong("an integer")),
            FieldType::Bool if !v.is_bool() => return Err(wrong("a boolean")),
            FieldType::Duration => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => yaml_scalar(other),
                };
                s.parse::<super::Duration>().map_err(|e| e.to_string())?;
            }
            FieldType::StrList => check_str_list(key, v)?,
            FieldType::Filters => {
                let Value::Sequence(filters) = v else {
                    return Err(wrong("a list of filters"));
                };
                for f in filters {
                    let Value::Mapping(f) = f else {
                        return Err(format!(
                            "invalid type: {} for a filter, expected a mapping",
                            kind(f)
                        ));
                    };
                    for (fk, fv) in f {
                        match fk.as_str().unwrap_or_default() {
                            "name" if is_scalar(fv) => {}
                            "name" => {
                                return Err(format!(
                                    "invalid type: {} for name, expected a string",
                                    kind(fv)
                                ))
                            }
                            "values" => check_str_list("values", fv)?,
                            other => return Err(format!("unknown field {other:?}")),
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(yaml: &str) -> Vec<Value> {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn unknown_fields_and_required_fields_are_checked() {
        let ok = check_unimplemented(
            "ec2",
            &entries(
                "[{region: eu-west-1, port: 9100, oauth2: {client_id: a, token_url: 'http://t'}}]",
            ),
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].to_string(), "ec2_sd_configs[0]");
        let (m, f) = check_unimplemented("ec2", &entries("[{regoin: x}]")).unwrap_err();
        assert_eq!(
            (m.as_str(), f.as_str()),
            ("unknown field \"regoin\"", "ec2_sd_configs[0]")
        );
        let (m, _) = check_unimplemented("docker", &entries("[{port: 1}]")).unwrap_err();
        assert_eq!(m, "host missing");
        let (m, _) =
            check_unimplemented("gce", &entries("[{project: p, zone: z, tls_config: {}}]"))
                .unwrap_err();
        assert_eq!(m, "unknown field \"tls_config\"");
        let (m, _) = check_unimplemented(
            "triton",
            &entries("[{account: a, dns_suffix: d, endpoint: e, tls_config: {ca: x, ca_file: y}}]"),
        )
        .unwrap_err();
        assert_eq!(m, "at most one of ca, ca_file & ca_ref must be configured");
        let (m, _) =
            check_unimplemented("linode", &entries("[{refresh_interval: 5x}]")).unwrap_err();
        assert!(m.contains("not a valid duration string"), "{m}");
        assert!(check_unimplemented("consul", &entries("[{}]")).is_err());
    }

    #[test]
    fn every_schema_is_a_known_mechanism() {
        for s in SCHEMAS {
            assert!(KNOWN_SD_MECHANISMS.contains(&s.name), "{}", s.name);
            assert!(!IMPLEMENTED_SD_MECHANISMS.contains(&s.name), "{}", s.name);
        }
        assert_eq!(
            SCHEMAS.len() + IMPLEMENTED_SD_MECHANISMS.len() - 1,
            KNOWN_SD_MECHANISMS.len()
        );
    }
}
