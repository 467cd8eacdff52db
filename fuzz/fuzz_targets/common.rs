// Shared by the fuzz targets: the translator configuration of the lab.
use xlat_core::{rfc7757, Config, Translator};

pub fn translator() -> Translator {
    let cfg = Config {
        pool6: Some("2001:db8:64::/96".parse().unwrap()),
        eam: rfc7757::Table::new([
            "192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap(),
            "192.0.0.2/32=2001:db8:aaaa::2/128".parse().unwrap(),
        ])
        .unwrap(),
        mtu_v6: 1400,
        mtu_v4: 1300,
        ..Config::default()
    };
    Translator::new(cfg).unwrap()
}
