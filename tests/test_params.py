import dataclasses

import pytest

from model.params import BUDGET_SHARES, ParamError, Params, Policy, param_table


def test_every_field_documents_unit_range_and_source():
    for cls in (Params, Policy):
        for f in dataclasses.fields(cls):
            md = f.metadata
            assert md["unit"], f.name
            assert md["source"], f.name
            assert md["doc"], f.name
            if md["kind"] in (int, float):
                assert md["lo"] is not None and md["hi"] is not None, f.name
                d = f.default if not isinstance(f.default, tuple) else f.default
                for v in (d if isinstance(d, tuple) else (d,)):
                    assert md["lo"] <= v <= md["hi"], f.name


def test_defaults_validate():
    Params()
    Policy()


@pytest.mark.parametrize("key,value", [("p_search", 1.5), ("p_search", -0.1), ("n_talent", 2.5),
                                       ("n_talent", True), ("spill_decay_km", "far"),
                                       ("spill_decay_km", float("nan"))])
def test_bad_values_raise_with_key_and_range(key, value):
    with pytest.raises(ParamError) as e:
        Params().replace(**{key: value})
    assert e.value.key == key
    assert key in str(e.value)


def test_unknown_key_is_named():
    with pytest.raises(ParamError, match="unknown key"):
        Params().replace(p_serch=0.1)


def test_unknown_key_suggests_the_closest_names_not_a_hundred():
    with pytest.raises(ParamError) as e:
        Params().replace(p_serch=0.1)
    msg = e.value.allowed
    assert "did you mean 'p_search'" in msg
    assert "innov_rate" not in msg and len(msg) < 150
    # nothing close: where the whole list is, and the names that start like the key; one
    # readable line, however many parameters there are
    with pytest.raises(ParamError) as e:
        Params().replace(zzz=1)
    assert "did you mean" not in e.value.allowed and "Appendix B" in e.value.allowed
    assert len(e.value.allowed) < 150
    with pytest.raises(ParamError) as e:
        Params().replace(colour=1)
    assert "collab_spill_boost" in e.value.allowed and "innov_rate" not in e.value.allowed


def test_sector_tuple_length_and_range():
    with pytest.raises(ParamError, match="list of 4"):
        Params().replace(rd_intensity=[0.1, 0.1])
    with pytest.raises(ParamError):
        Params().replace(rd_intensity=[0.1, 0.1, 0.1, 0.9])
    assert Params().replace(rd_intensity=[0.1, 0, 0, 0]).rd_intensity == (0.1, 0.0, 0.0, 0.0)


def test_cross_constraints():
    with pytest.raises(ParamError, match="scaleup_capability"):
        Params().replace(mature_capability=1.0, scaleup_capability=2.0)
    too_much = {k: 0.2 for k in BUDGET_SHARES}
    with pytest.raises(ParamError, match="sum to <= 1"):
        Policy().replace(**too_much)


def test_ints_become_floats_for_float_fields():
    p = Params().replace(spill_decay_km=100)
    assert isinstance(p.spill_decay_km, float)


def test_param_table_rows():
    rows = param_table(Params)
    assert {r["name"] for r in rows} == {f.name for f in dataclasses.fields(Params)}
    assert all("unit" in r and "source" in r for r in rows)
