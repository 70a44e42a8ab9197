"""The generated gRPC stubs: in step with protos/, importable from serving.gen, wire-stable."""

from pathlib import Path

from serving.gen import generate
from serving.gen.guidance.v1 import guidance_pb2, guidance_pb2_grpc

EXPECTED_METHODS = [
    "/guidance.v1.GuidanceService/Recommend",
    "/guidance.v1.GuidanceService/RecommendForBook",
    "/guidance.v1.GuidanceService/LogFeedback",
    "/guidance.v1.GuidanceService/GetContext",
    "/guidance.v1.GuidanceService/GetBrief",
    "/guidance.v1.GuidanceService/Explain",
]


class _RecordingChannel:
    """Stands in for grpc.Channel: records the method paths a stub binds."""

    def __init__(self):
        self.methods = []

    def unary_unary(self, method, *args, **kwargs):
        self.methods.append(method)
        return None


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path):
    written = generate.generate(tmp_path)

    assert {path.name for path in written} >= {
        "guidance_pb2.py",
        "guidance_pb2.pyi",
        "guidance_pb2_grpc.py",
    }
    for relative in written:
        committed = generate.GEN_DIR / relative
        assert committed.is_file(), f"{committed} is missing: run `make proto`"
        assert committed.read_bytes() == (tmp_path / relative).read_bytes(), (
            f"{committed} is stale against protos/: run `make proto`"
        )


def test_full_method_names_keep_the_proto_package():
    channel = _RecordingChannel()
    guidance_pb2_grpc.GuidanceServiceStub(channel)

    service = guidance_pb2.DESCRIPTOR.services_by_name["GuidanceService"]
    assert service.full_name == "guidance.v1.GuidanceService"
    assert [f"/{service.full_name}/{m.name}" for m in service.methods] == EXPECTED_METHODS
    assert channel.methods == EXPECTED_METHODS
    assert callable(guidance_pb2_grpc.add_GuidanceServiceServicer_to_server)


def test_recommend_request_round_trips():
    request = guidance_pb2.RecommendRequest(
        advertiser_id=17,
        campaign_id=4_000_000_001,
        surface=guidance_pb2.SURFACE_SALES_WORKFLOW,
        max_items=5,
    )

    decoded = guidance_pb2.RecommendRequest.FromString(request.SerializeToString())

    assert decoded == request
    assert decoded.campaign_id == 4_000_000_001
    assert decoded.surface == guidance_pb2.SURFACE_SALES_WORKFLOW
    assert guidance_pb2.RecommendRequest.__module__ == "serving.gen.guidance.v1.guidance_pb2"
