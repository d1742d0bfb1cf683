//! The CustomResourceDefinitions the simulated operators install (KubeVirt, CDI, volume
//! snapshots), as one table: names, scope, versions, printer columns; schemas keep unknown fields.

use serde_json::{Value, json};

/// A printer column: name, type, JSONPath, priority.
type Column = (&'static str, &'static str, &'static str, i64);

/// One CRD of the catalog.
pub struct CrdSpec {
    pub group: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub namespaced: bool,
    /// Served versions; the first is the storage version.
    pub versions: &'static [&'static str],
    pub columns: &'static [Column],
}

const AGE: Column = ("Age", "date", ".metadata.creationTimestamp", 0);
const PHASE: Column = ("Phase", "string", ".status.phase", 0);
const READY: Column = (
    "Ready",
    "string",
    ".status.conditions[?(@.type=='Ready')].status",
    0,
);
const KV_CATEGORIES: &[&str] = &["all"];
const INSTANCETYPE_VERSIONS: &[&str] = &["v1beta1", "v1alpha2", "v1alpha1"];
const BETA_ALPHA: &[&str] = &["v1beta1", "v1alpha1"];

const fn spec(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    versions: &'static [&'static str],
    columns: &'static [Column],
) -> CrdSpec {
    CrdSpec {
        group,
        kind,
        plural,
        short_names,
        categories: &[],
        namespaced,
        versions,
        columns,
    }
}

/// What virt-operator installs.
pub const KUBEVIRT: &[CrdSpec] = &[
    CrdSpec {
        categories: KV_CATEGORIES,
        ..spec(
            "kubevirt.io",
            "VirtualMachine",
            "virtualmachines",
            &["vm", "vms"],
            true,
            &["v1", "v1alpha3"],
            &[
                AGE,
                ("Status", "string", ".status.printableStatus", 0),
                READY,
            ],
        )
    },
    CrdSpec {
        categories: KV_CATEGORIES,
        ..spec(
            "kubevirt.io",
            "VirtualMachineInstance",
            "virtualmachineinstances",
            &["vmi", "vmis"],
            true,
            &["v1", "v1alpha3"],
            &[
                AGE,
                PHASE,
                ("IP", "string", ".status.interfaces[0].ipAddress", 0),
                ("NodeName", "string", ".status.nodeName", 0),
                READY,
                (
                    "Live-Migratable",
                    "string",
                    ".status.conditions[?(@.type=='LiveMigratable')].status",
                    1,
                ),
                (
                    "Paused",
                    "string",
                    ".status.conditions[?(@.type=='Paused')].status",
                    1,
                ),
            ],
        )
    },
    CrdSpec {
        categories: KV_CATEGORIES,
        ..spec(
            "kubevirt.io",
            "VirtualMachineInstanceMigration",
            "virtualmachineinstancemigrations",
            &["vmim", "vmims"],
            true,
            &["v1", "v1alpha3"],
            &[PHASE, ("VMI", "string", ".spec.vmiName", 0)],
        )
    },
    CrdSpec {
        categories: KV_CATEGORIES,
        ..spec(
            "kubevirt.io",
            "VirtualMachineInstanceReplicaSet",
            "virtualmachineinstancereplicasets",
            &["vmirs", "vmirss"],
            true,
            &["v1", "v1alpha3"],
            &[
                ("Desired", "integer", ".spec.replicas", 0),
                ("Current", "integer", ".status.replicas", 0),
                ("Ready", "integer", ".status.readyReplicas", 0),
                AGE,
            ],
        )
    },
    spec(
        "instancetype.kubevirt.io",
        "VirtualMachineInstancetype",
        "virtualmachineinstancetypes",
        &["vminstancetype", "vminstancetypes", "vmf", "vmfs"],
        true,
        INSTANCETYPE_VERSIONS,
        &[],
    ),
    spec(
        "instancetype.kubevirt.io",
        "VirtualMachineClusterInstancetype",
        "virtualmachineclusterinstancetypes",
        &[
            "vmclusterinstancetype",
            "vmclusterinstancetypes",
            "vmcf",
            "vmcfs",
        ],
        false,
        INSTANCETYPE_VERSIONS,
        &[],
    ),
    spec(
        "instancetype.kubevirt.io",
        "VirtualMachinePreference",
        "virtualmachinepreferences",
        &["vmpref", "vmprefs", "vmp", "vmps"],
        true,
        INSTANCETYPE_VERSIONS,
        &[],
    ),
    spec(
        "instancetype.kubevirt.io",
        "VirtualMachineClusterPreference",
        "virtualmachineclusterpreferences",
        &["vmcp", "vmcps"],
        false,
        INSTANCETYPE_VERSIONS,
        &[],
    ),
    spec(
        "snapshot.kubevirt.io",
        "VirtualMachineSnapshot",
        "virtualmachinesnapshots",
        &["vmsnapshot", "vmsnapshots"],
        true,
        BETA_ALPHA,
        &[
            ("SourceKind", "string", ".spec.source.kind", 0),
            ("SourceName", "string", ".spec.source.name", 0),
            PHASE,
            ("ReadyToUse", "boolean", ".status.readyToUse", 0),
            ("CreationTime", "date", ".status.creationTime", 0),
            ("Error", "date", ".status.error.time", 0),
        ],
    ),
    spec(
        "snapshot.kubevirt.io",
        "VirtualMachineSnapshotContent",
        "virtualmachinesnapshotcontents",
        &["vmsnapshotcontent", "vmsnapshotcontents"],
        true,
        BETA_ALPHA,
        &[
            ("ReadyToUse", "boolean", ".status.readyToUse", 0),
            ("CreationTime", "date", ".status.creationTime", 0),
            ("Error", "string", ".status.error.message", 0),
        ],
    ),
    spec(
        "snapshot.kubevirt.io",
        "VirtualMachineRestore",
        "virtualmachinerestores",
        &["vmrestore", "vmrestores"],
        true,
        BETA_ALPHA,
        &[
            ("TargetKind", "string", ".spec.target.kind", 0),
            ("TargetName", "string", ".spec.target.name", 0),
            ("Complete", "boolean", ".status.complete", 0),
            ("RestoreTime", "date", ".status.restoreTime", 0),
            ("Error", "date", ".status.error.time", 0),
        ],
    ),
    spec(
        "export.kubevirt.io",
        "VirtualMachineExport",
        "virtualmachineexports",
        &["vmexport", "vmexports"],
        true,
        BETA_ALPHA,
        &[
            ("SourceKind", "string", ".spec.source.kind", 0),
            ("SourceName", "string", ".spec.source.name", 0),
            PHASE,
        ],
    ),
    spec(
        "clone.kubevirt.io",
        "VirtualMachineClone",
        "virtualmachineclones",
        &["vmclone", "vmclones"],
        true,
        BETA_ALPHA,
        &[
            PHASE,
            ("SourceVirtualMachine", "string", ".spec.source.name", 0),
            ("TargetVirtualMachine", "string", ".spec.target.name", 0),
        ],
    ),
    spec(
        "pool.kubevirt.io",
        "VirtualMachinePool",
        "virtualmachinepools",
        &["vmpool", "vmpools"],
        true,
        &["v1alpha1"],
        &[
            ("Desired", "integer", ".spec.replicas", 0),
            ("Current", "integer", ".status.replicas", 0),
            ("Ready", "integer", ".status.readyReplicas", 0),
            AGE,
        ],
    ),
    spec(
        "migrations.kubevirt.io",
        "MigrationPolicy",
        "migrationpolicies",
        &[],
        false,
        &["v1alpha1"],
        &[],
    ),
];

/// What cdi-operator installs.
pub const CDI: &[CrdSpec] = &[
    spec(
        "cdi.kubevirt.io",
        "DataVolume",
        "datavolumes",
        &["dv", "dvs"],
        true,
        &["v1beta1"],
        &[
            PHASE,
            ("Progress", "string", ".status.progress", 0),
            ("Restarts", "integer", ".status.restartCount", 0),
            AGE,
        ],
    ),
    spec(
        "cdi.kubevirt.io",
        "DataSource",
        "datasources",
        &["das"],
        true,
        &["v1beta1"],
        &[AGE],
    ),
    spec(
        "cdi.kubevirt.io",
        "DataImportCron",
        "dataimportcrons",
        &["dic", "dics"],
        true,
        &["v1beta1"],
        &[("Format", "string", ".status.sourceFormat", 0), AGE],
    ),
    spec(
        "cdi.kubevirt.io",
        "CDIConfig",
        "cdiconfigs",
        &[],
        false,
        &["v1beta1"],
        &[],
    ),
    spec(
        "cdi.kubevirt.io",
        "StorageProfile",
        "storageprofiles",
        &[],
        false,
        &["v1beta1"],
        &[],
    ),
    spec(
        "cdi.kubevirt.io",
        "ObjectTransfer",
        "objecttransfers",
        &["ot", "ots"],
        false,
        &["v1beta1"],
        &[PHASE],
    ),
    spec(
        "cdi.kubevirt.io",
        "VolumeCloneSource",
        "volumeclonesources",
        &[],
        true,
        &["v1beta1"],
        &[],
    ),
    spec(
        "cdi.kubevirt.io",
        "VolumeImportSource",
        "volumeimportsources",
        &[],
        true,
        &["v1beta1"],
        &[],
    ),
    spec(
        "cdi.kubevirt.io",
        "VolumeUploadSource",
        "volumeuploadsources",
        &[],
        true,
        &["v1beta1"],
        &[],
    ),
];

/// The operators' own CRDs, for clusters seeded without the upstream manifests.
pub const OPERATOR_CRS: &[CrdSpec] = &[
    spec(
        "kubevirt.io",
        "KubeVirt",
        "kubevirts",
        &["kv", "kvs"],
        true,
        &["v1", "v1alpha3"],
        &[AGE, PHASE],
    ),
    spec(
        "cdi.kubevirt.io",
        "CDI",
        "cdis",
        &["cdi", "cdis"],
        false,
        &["v1beta1"],
        &[AGE, PHASE],
    ),
];

/// The external-snapshotter CRDs.
pub const SNAPSHOTS: &[CrdSpec] = &[
    spec(
        "snapshot.storage.k8s.io",
        "VolumeSnapshot",
        "volumesnapshots",
        &["vs"],
        true,
        &["v1"],
        &[
            ("ReadyToUse", "boolean", ".status.readyToUse", 0),
            (
                "SourcePVC",
                "string",
                ".spec.source.persistentVolumeClaimName",
                0,
            ),
            ("RestoreSize", "string", ".status.restoreSize", 0),
            (
                "SnapshotClass",
                "string",
                ".spec.volumeSnapshotClassName",
                0,
            ),
            (
                "SnapshotContent",
                "string",
                ".status.boundVolumeSnapshotContentName",
                0,
            ),
            ("CreationTime", "date", ".status.creationTime", 0),
            AGE,
        ],
    ),
    spec(
        "snapshot.storage.k8s.io",
        "VolumeSnapshotContent",
        "volumesnapshotcontents",
        &["vsc", "vscs"],
        false,
        &["v1"],
        &[
            ("ReadyToUse", "boolean", ".status.readyToUse", 0),
            ("RestoreSize", "integer", ".status.restoreSize", 0),
            ("DeletionPolicy", "string", ".spec.deletionPolicy", 0),
            ("Driver", "string", ".spec.driver", 0),
            AGE,
        ],
    ),
    spec(
        "snapshot.storage.k8s.io",
        "VolumeSnapshotClass",
        "volumesnapshotclasses",
        &["vsclass", "vsclasses"],
        false,
        &["v1"],
        &[
            ("Driver", "string", ".driver", 0),
            ("DeletionPolicy", "string", ".deletionPolicy", 0),
            AGE,
        ],
    ),
];

fn status_schema() -> Value {
    let open_list = json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "phase": {"type": "string"},
            "printableStatus": {"type": "string"},
            "ready": {"type": "boolean"},
            "created": {"type": "boolean"},
            "nodeName": {"type": "string"},
            "observedGeneration": {"type": "integer", "format": "int64"},
            "conditions": open_list,
            "interfaces": open_list,
            "guestOSInfo": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
    })
}

fn schema(spec: &CrdSpec) -> Value {
    let mut spec_schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    if spec.kind == "VirtualMachine" {
        spec_schema["properties"] = json!({
            "runStrategy": {"type": "string", "description": "Running state indicates the requested running state of the VirtualMachineInstance, mutually exclusive with Running"},
            "running": {"type": "boolean", "description": "Running controls whether the associated VirtualMachineInstance is created or not. Mutually exclusive with RunStrategy. Deprecated: VirtualMachineInstance field \"Running\" is now deprecated, please use RunStrategy instead."},
            "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        });
    }
    let mut properties = json!({
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": spec_schema,
        "status": status_schema(),
    });
    if spec.kind == "VolumeSnapshotClass" {
        // Class objects keep their settings at the top level.
        properties = json!({
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "driver": {"type": "string"}, "deletionPolicy": {"type": "string", "enum": ["Delete", "Retain"]},
            "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
        });
    }
    json!({"type": "object", "properties": properties})
}

/// The CRD object for one catalog entry, with the given labels.
pub fn crd(spec: &CrdSpec, labels: &Value) -> Value {
    let versions: Vec<Value> = spec
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let columns: Vec<Value> = spec
                .columns
                .iter()
                .map(|(name, kind, path, priority)| {
                    let mut column = json!({"name": name, "type": kind, "jsonPath": path});
                    if *priority > 0 {
                        column["priority"] = json!(priority);
                    }
                    column
                })
                .collect();
            let mut version = json!({
                "name": v, "served": true, "storage": i == 0,
                "schema": {"openAPIV3Schema": schema(spec)},
                "additionalPrinterColumns": columns,
            });
            if spec.kind != "VolumeSnapshotClass" && spec.kind != "MigrationPolicy" {
                version["subresources"] = json!({"status": {}});
            }
            if spec.kind.contains("ReplicaSet") || spec.kind == "VirtualMachinePool" {
                version["subresources"]["scale"] = json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.labelSelector"});
            }
            if i > 0 {
                version["deprecated"] = json!(true);
            }
            version
        })
        .collect();
    let singular = spec.kind.to_lowercase();
    let mut names = json!({"kind": spec.kind, "listKind": format!("{}List", spec.kind), "plural": spec.plural, "singular": singular});
    if !spec.short_names.is_empty() {
        names["shortNames"] = json!(spec.short_names);
    }
    if !spec.categories.is_empty() {
        names["categories"] = json!(spec.categories);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", spec.plural, spec.group), "labels": labels},
        "spec": {
            "group": spec.group,
            "names": names,
            "scope": if spec.namespaced { "Namespaced" } else { "Cluster" },
            "versions": versions,
        },
    })
}

/// `<plural>.<group>` of each entry.
pub fn names(specs: &[CrdSpec]) -> Vec<String> {
    specs
        .iter()
        .map(|s| format!("{}.{}", s.plural, s.group))
        .collect()
}
