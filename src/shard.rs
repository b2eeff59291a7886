//! Splitting accounts across replicas: `--shard INDEX/COUNT` (or `shard: INDEX/COUNT` in config).
//!
//! Each account goes to one shard by a stable hash of (vendor, account name), so every replica
//! computes the same split with no coordination. The hash is FNV-1a (fixed, unlike std's
//! `DefaultHasher`, whose output may change between Rust releases) fed to jump consistent hashing
//! (Lamping & Veach, 2014): going from N to N+1 shards moves only about 1/(N+1) of the accounts,
//! all of them to the new shard.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether this shard polls the account.
    pub fn owns(&self, vendor: &str, account: &str) -> bool {
        shard_of(vendor, account, self.count) == self.index
    }
}

/// The shard, among `count`, that owns an account.
pub fn shard_of(vendor: &str, account: &str, count: u32) -> u32 {
    jump_hash(fnv1a(vendor, account), count.max(1))
}

fn fnv1a(vendor: &str, account: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    // A separator byte that cannot occur in UTF-8 text keeps ("ab","c") apart from ("a","bc").
    for byte in vendor
        .bytes()
        .chain(std::iter::once(0xff))
        .chain(account.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("expected INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/3), found {s:?}");
        let (index, count) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Vec<(&'static str, String)> {
        let vendors = ["wecom_wedrive", "koodrive", "tencentcloud_cwp"];
        (0..3000)
            .map(|i| (vendors[i % 3], format!("account-{i}")))
            .collect()
    }

    #[test]
    fn shares_are_disjoint_cover_everything_and_are_balanced() {
        let accounts = accounts();
        for count in [1u32, 2, 3, 5, 8] {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            let mut sizes = vec![0usize; count as usize];
            for (vendor, name) in &accounts {
                let owners: Vec<_> = shards.iter().filter(|s| s.owns(vendor, name)).collect();
                assert_eq!(owners.len(), 1, "{vendor}/{name} with {count} shards");
                sizes[owners[0].index as usize] += 1;
            }
            let fair = accounts.len() / count as usize;
            for size in sizes {
                assert!(
                    size > fair * 7 / 10 && size < fair * 13 / 10,
                    "unbalanced: {size} vs {fair}"
                );
            }
        }
    }

    #[test]
    fn growing_the_count_moves_few_accounts_and_only_to_the_new_shard() {
        let accounts = accounts();
        for count in [2u32, 3, 4, 9] {
            let mut moved = 0;
            for (vendor, name) in &accounts {
                let (before, after) = (
                    shard_of(vendor, name, count),
                    shard_of(vendor, name, count + 1),
                );
                if before != after {
                    moved += 1;
                    assert_eq!(after, count, "an account only ever moves to the new shard");
                }
            }
            let expected = accounts.len() / (count as usize + 1);
            assert!(
                moved < expected * 13 / 10,
                "{moved} moved going {count}->{}, expected about {expected}",
                count + 1
            );
        }
    }

    #[test]
    fn the_split_is_stable_across_builds() {
        // Pinned values: a change here would silently re-shard every deployment.
        assert_eq!(fnv1a("", ""), 0xaf64_724c_8602_eb6e);
        assert_eq!(shard_of("wecom_wedrive", "acme", 1), 0);
        let pinned: Vec<u32> = (0..8)
            .map(|i| shard_of("koodrive", &format!("a{i}"), 4))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    // Computed with an independent implementation of FNV-1a and the published jump hash.
    const PINNED: [u32; 8] = [2, 2, 0, 0, 1, 0, 0, 2];

    #[test]
    fn parsing() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().unwrap_err().contains("INDEX/COUNT"));
    }
}
