//! What the official MedMNIST files are: names, classes, channels, split sizes and checksums.
//!
//! Figures for the 28×28 files are pinned here (from the `medmnist` package's published metadata); the larger
//! sizes (64, 128, 224) exist only in the v3 (MedMNIST+) record, whose checksums are read from Zenodo's record
//! metadata at download time.

/// One of the five datasets MedBlind trains on.
#[derive(Debug, PartialEq, Eq)]
pub struct Dataset {
    /// File stem and command-line name, e.g. `bloodmnist`.
    pub name: &'static str,
    /// Human-readable name.
    pub title: &'static str,
    /// Class names, index = label.
    pub classes: &'static [&'static str],
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Data licence.
    pub licence: &'static str,
    /// The official 28×28 files.
    pub releases: &'static [Release],
}

/// One official 28×28 file.
#[derive(Debug, PartialEq, Eq)]
pub struct Release {
    /// `v2` (Zenodo 6496656) or `v3` (MedMNIST+, Zenodo 10519652).
    pub version: &'static str,
    /// MD5 of the whole `.npz` file, lower-case hex.
    pub md5: &'static str,
    /// Images in train / val / test.
    pub counts: [usize; 3],
}

/// Zenodo record of MedMNIST v2.
pub const RECORD_V2: &str = "6496656";
/// Zenodo record of MedMNIST+ (v3), the only one with 64, 128 and 224 pixel files.
pub const RECORD_V3: &str = "10519652";
/// Image sides MedMNIST+ publishes.
pub const SIZES: [usize; 4] = [28, 64, 128, 224];

const ORGAN_CLASSES: &[&str] = &[
    "bladder",
    "femur-left",
    "femur-right",
    "heart",
    "kidney-left",
    "kidney-right",
    "liver",
    "lung-left",
    "lung-right",
    "pancreas",
    "spleen",
];

/// The five datasets.
pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "dermamnist",
        title: "DermaMNIST",
        classes: &[
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ],
        channels: 3,
        licence: "CC BY-NC 4.0",
        releases: &[Release { version: "v2/v3", md5: "0744692d530f8e62ec473284d019b0c7", counts: [7007, 1003, 2005] }],
    },
    Dataset {
        name: "bloodmnist",
        title: "BloodMNIST",
        classes: &[
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes (myelocytes, metamyelocytes and promyelocytes)",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ],
        channels: 3,
        licence: "CC BY 4.0",
        releases: &[Release { version: "v2/v3", md5: "7053d0359d879ad8a5505303e11de1dc", counts: [11959, 1712, 3421] }],
    },
    Dataset {
        name: "organamnist",
        title: "OrganAMNIST",
        classes: ORGAN_CLASSES,
        channels: 1,
        licence: "CC BY 4.0",
        releases: &[
            Release { version: "v3", md5: "68e3f8846a6bd62f0c9bf841c0d9eacc", counts: [34561, 6491, 17778] },
            Release { version: "v2", md5: "866b832ed4eeba67bfb9edee1d5544e6", counts: [34581, 6491, 17778] },
        ],
    },
    Dataset {
        name: "organcmnist",
        title: "OrganCMNIST",
        classes: ORGAN_CLASSES,
        channels: 1,
        licence: "CC BY 4.0",
        releases: &[
            Release { version: "v3", md5: "b9ceb9546e10131b32923c5bbeaea2b1", counts: [12975, 2392, 8216] },
            Release { version: "v2", md5: "0afa5834fb105f7705a7d93372119a21", counts: [13000, 2392, 8268] },
        ],
    },
    Dataset {
        name: "organsmnist",
        title: "OrganSMNIST",
        classes: ORGAN_CLASSES,
        channels: 1,
        licence: "CC BY 4.0",
        releases: &[
            Release { version: "v3", md5: "9ab87b696fb54e2a387ebe992d6ed5f1", counts: [13932, 2452, 8827] },
            Release { version: "v2", md5: "e5c39f1af030238290b9557d9503af9d", counts: [13940, 2452, 8829] },
        ],
    },
];

/// Looks a dataset up by name (case-insensitive).
pub fn dataset(name: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Dataset {
    /// The official file name for an image side: `bloodmnist.npz` (28) or `bloodmnist_64.npz`.
    pub fn file_name(&self, size: usize) -> String {
        if size == 28 { format!("{}.npz", self.name) } else { format!("{}_{size}.npz", self.name) }
    }

    /// The pinned 28×28 release whose checksum is `md5`, if any.
    pub fn release(&self, md5: &str) -> Option<&'static Release> {
        self.releases.iter().find(|r| r.md5.eq_ignore_ascii_case(md5))
    }
}

/// Comma-separated dataset names, for messages.
pub fn names() -> String {
    DATASETS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
}
