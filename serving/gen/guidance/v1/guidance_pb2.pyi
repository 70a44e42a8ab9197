import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Surface(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SURFACE_UNSPECIFIED: _ClassVar[Surface]
    SURFACE_ADS_MANAGER: _ClassVar[Surface]
    SURFACE_BUSINESS_ASSISTANT: _ClassVar[Surface]
    SURFACE_NOTIFICATION: _ClassVar[Surface]
    SURFACE_SALES_WORKFLOW: _ClassVar[Surface]

class FeedbackType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEEDBACK_TYPE_UNSPECIFIED: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_SHOWN: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_CLICKED: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_APPLIED: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_DISMISSED: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_SNOOZED: _ClassVar[FeedbackType]
    FEEDBACK_TYPE_IGNORED: _ClassVar[FeedbackType]

class DismissReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISMISS_REASON_UNSPECIFIED: _ClassVar[DismissReason]
    DISMISS_REASON_NOT_RELEVANT: _ClassVar[DismissReason]
    DISMISS_REASON_ALREADY_DONE: _ClassVar[DismissReason]
    DISMISS_REASON_TOO_EXPENSIVE: _ClassVar[DismissReason]
    DISMISS_REASON_DISAGREE_WITH_ESTIMATE: _ClassVar[DismissReason]
    DISMISS_REASON_OTHER: _ClassVar[DismissReason]
SURFACE_UNSPECIFIED: Surface
SURFACE_ADS_MANAGER: Surface
SURFACE_BUSINESS_ASSISTANT: Surface
SURFACE_NOTIFICATION: Surface
SURFACE_SALES_WORKFLOW: Surface
FEEDBACK_TYPE_UNSPECIFIED: FeedbackType
FEEDBACK_TYPE_SHOWN: FeedbackType
FEEDBACK_TYPE_CLICKED: FeedbackType
FEEDBACK_TYPE_APPLIED: FeedbackType
FEEDBACK_TYPE_DISMISSED: FeedbackType
FEEDBACK_TYPE_SNOOZED: FeedbackType
FEEDBACK_TYPE_IGNORED: FeedbackType
DISMISS_REASON_UNSPECIFIED: DismissReason
DISMISS_REASON_NOT_RELEVANT: DismissReason
DISMISS_REASON_ALREADY_DONE: DismissReason
DISMISS_REASON_TOO_EXPENSIVE: DismissReason
DISMISS_REASON_DISAGREE_WITH_ESTIMATE: DismissReason
DISMISS_REASON_OTHER: DismissReason

class RecommendRequest(_message.Message):
    __slots__ = ("advertiser_id", "campaign_id", "surface", "max_items")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    campaign_id: int
    surface: Surface
    max_items: int
    def __init__(self, advertiser_id: _Optional[int] = ..., campaign_id: _Optional[int] = ..., surface: _Optional[_Union[Surface, str]] = ..., max_items: _Optional[int] = ...) -> None: ...

class Impact(_message.Message):
    __slots__ = ("expected", "unit", "low", "high")
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    expected: float
    unit: str
    low: float
    high: float
    def __init__(self, expected: _Optional[float] = ..., unit: _Optional[str] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("signal", "sentence")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    signal: str
    sentence: str
    def __init__(self, signal: _Optional[str] = ..., sentence: _Optional[str] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("recommendation_id", "action_type", "category", "campaign_id", "item_id", "title", "description", "parameters", "reasons", "adoption_probability", "dismissal_probability", "expected_impact", "rank", "propensity", "score_uplift", "no_supporting_signal")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    ADOPTION_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DISMISSAL_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_IMPACT_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_UPLIFT_FIELD_NUMBER: _ClassVar[int]
    NO_SUPPORTING_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    recommendation_id: str
    action_type: str
    category: str
    campaign_id: int
    item_id: int
    title: str
    description: str
    parameters: _containers.ScalarMap[str, str]
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    adoption_probability: float
    dismissal_probability: float
    expected_impact: Impact
    rank: int
    propensity: float
    score_uplift: float
    no_supporting_signal: bool
    def __init__(self, recommendation_id: _Optional[str] = ..., action_type: _Optional[str] = ..., category: _Optional[str] = ..., campaign_id: _Optional[int] = ..., item_id: _Optional[int] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., adoption_probability: _Optional[float] = ..., dismissal_probability: _Optional[float] = ..., expected_impact: _Optional[_Union[Impact, _Mapping]] = ..., rank: _Optional[int] = ..., propensity: _Optional[float] = ..., score_uplift: _Optional[float] = ..., no_supporting_signal: _Optional[bool] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("advertiser_id", "surface", "slate_id", "items", "guidance_score", "model_version", "degraded", "degraded_reason", "empty_reason", "empty_message", "empty_detail")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    SLATE_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCORE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    EMPTY_REASON_FIELD_NUMBER: _ClassVar[int]
    EMPTY_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EMPTY_DETAIL_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    surface: Surface
    slate_id: str
    items: _containers.RepeatedCompositeFieldContainer[Recommendation]
    guidance_score: float
    model_version: str
    degraded: bool
    degraded_reason: str
    empty_reason: str
    empty_message: str
    empty_detail: str
    def __init__(self, advertiser_id: _Optional[int] = ..., surface: _Optional[_Union[Surface, str]] = ..., slate_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., guidance_score: _Optional[float] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ..., empty_reason: _Optional[str] = ..., empty_message: _Optional[str] = ..., empty_detail: _Optional[str] = ...) -> None: ...

class RecommendForBookRequest(_message.Message):
    __slots__ = ("advertiser_ids", "max_accounts", "items_per_account")
    ADVERTISER_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_PER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    advertiser_ids: _containers.RepeatedScalarFieldContainer[int]
    max_accounts: int
    items_per_account: int
    def __init__(self, advertiser_ids: _Optional[_Iterable[int]] = ..., max_accounts: _Optional[int] = ..., items_per_account: _Optional[int] = ...) -> None: ...

class AccountGuidance(_message.Message):
    __slots__ = ("advertiser_id", "available_impact", "impact_unit", "guidance_score", "items")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_IMPACT_FIELD_NUMBER: _ClassVar[int]
    IMPACT_UNIT_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCORE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    available_impact: float
    impact_unit: str
    guidance_score: float
    items: _containers.RepeatedCompositeFieldContainer[Recommendation]
    def __init__(self, advertiser_id: _Optional[int] = ..., available_impact: _Optional[float] = ..., impact_unit: _Optional[str] = ..., guidance_score: _Optional[float] = ..., items: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ...) -> None: ...

class RecommendForBookResponse(_message.Message):
    __slots__ = ("accounts", "model_version", "degraded", "degraded_reason")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[AccountGuidance]
    model_version: str
    degraded: bool
    degraded_reason: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[AccountGuidance, _Mapping]]] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ...) -> None: ...

class LogFeedbackRequest(_message.Message):
    __slots__ = ("event_id", "recommendation_id", "type", "dismiss_reason", "snooze_days")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISMISS_REASON_FIELD_NUMBER: _ClassVar[int]
    SNOOZE_DAYS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    recommendation_id: str
    type: FeedbackType
    dismiss_reason: DismissReason
    snooze_days: int
    def __init__(self, event_id: _Optional[str] = ..., recommendation_id: _Optional[str] = ..., type: _Optional[_Union[FeedbackType, str]] = ..., dismiss_reason: _Optional[_Union[DismissReason, str]] = ..., snooze_days: _Optional[int] = ...) -> None: ...

class LogFeedbackResponse(_message.Message):
    __slots__ = ("duplicate",)
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    def __init__(self, duplicate: _Optional[bool] = ...) -> None: ...

class GetContextRequest(_message.Message):
    __slots__ = ("advertiser_id", "include_campaigns")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    include_campaigns: bool
    def __init__(self, advertiser_id: _Optional[int] = ..., include_campaigns: _Optional[bool] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("name", "value", "unit", "sentence", "known")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    unit: str
    sentence: str
    known: bool
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., unit: _Optional[str] = ..., sentence: _Optional[str] = ..., known: _Optional[bool] = ...) -> None: ...

class SignalGroup(_message.Message):
    __slots__ = ("source", "signals")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    source: str
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    def __init__(self, source: _Optional[str] = ..., signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ...) -> None: ...

class CampaignContext(_message.Message):
    __slots__ = ("campaign_id", "groups")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: int
    groups: _containers.RepeatedCompositeFieldContainer[SignalGroup]
    def __init__(self, campaign_id: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[SignalGroup, _Mapping]]] = ...) -> None: ...

class GetContextResponse(_message.Message):
    __slots__ = ("advertiser_id", "as_of", "snapshot", "groups", "campaigns")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    as_of: str
    snapshot: str
    groups: _containers.RepeatedCompositeFieldContainer[SignalGroup]
    campaigns: _containers.RepeatedCompositeFieldContainer[CampaignContext]
    def __init__(self, advertiser_id: _Optional[int] = ..., as_of: _Optional[str] = ..., snapshot: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[SignalGroup, _Mapping]]] = ..., campaigns: _Optional[_Iterable[_Union[CampaignContext, _Mapping]]] = ...) -> None: ...

class GetBriefRequest(_message.Message):
    __slots__ = ("advertiser_id", "max_words", "max_recommendations")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_WORDS_FIELD_NUMBER: _ClassVar[int]
    MAX_RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    max_words: int
    max_recommendations: int
    def __init__(self, advertiser_id: _Optional[int] = ..., max_words: _Optional[int] = ..., max_recommendations: _Optional[int] = ...) -> None: ...

class BriefItem(_message.Message):
    __slots__ = ("signal", "level", "campaign_id", "value", "unit", "sentence", "line", "past_value", "own_change", "peer_share", "peer_z", "own_z", "unusualness", "bears_on", "categories", "score")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    PAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    OWN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    PEER_SHARE_FIELD_NUMBER: _ClassVar[int]
    PEER_Z_FIELD_NUMBER: _ClassVar[int]
    OWN_Z_FIELD_NUMBER: _ClassVar[int]
    UNUSUALNESS_FIELD_NUMBER: _ClassVar[int]
    BEARS_ON_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    signal: str
    level: str
    campaign_id: int
    value: float
    unit: str
    sentence: str
    line: str
    past_value: float
    own_change: float
    peer_share: float
    peer_z: float
    own_z: float
    unusualness: float
    bears_on: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    score: float
    def __init__(self, signal: _Optional[str] = ..., level: _Optional[str] = ..., campaign_id: _Optional[int] = ..., value: _Optional[float] = ..., unit: _Optional[str] = ..., sentence: _Optional[str] = ..., line: _Optional[str] = ..., past_value: _Optional[float] = ..., own_change: _Optional[float] = ..., peer_share: _Optional[float] = ..., peer_z: _Optional[float] = ..., own_z: _Optional[float] = ..., unusualness: _Optional[float] = ..., bears_on: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ...) -> None: ...

class GetBriefResponse(_message.Message):
    __slots__ = ("advertiser_id", "as_of", "snapshot", "items", "words", "guidance_score", "recommendations", "model_version", "degraded", "degraded_reason", "text")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCORE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: int
    as_of: str
    snapshot: str
    items: _containers.RepeatedCompositeFieldContainer[BriefItem]
    words: int
    guidance_score: float
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    model_version: str
    degraded: bool
    degraded_reason: str
    text: str
    def __init__(self, advertiser_id: _Optional[int] = ..., as_of: _Optional[str] = ..., snapshot: _Optional[str] = ..., items: _Optional[_Iterable[_Union[BriefItem, _Mapping]]] = ..., words: _Optional[int] = ..., guidance_score: _Optional[float] = ..., recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("recommendation_id",)
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    recommendation_id: str
    def __init__(self, recommendation_id: _Optional[str] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("recommendation_id", "slate_id", "advertiser_id", "action_type", "category", "campaign_id", "item_id", "title", "description", "parameters", "surface", "rank", "served_at", "adoption_probability", "dismissal_probability", "expected_impact", "propensity", "policy", "degraded", "model_version", "model_snapshot", "reasons", "as_of", "snapshot", "no_supporting_signal")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RECOMMENDATION_ID_FIELD_NUMBER: _ClassVar[int]
    SLATE_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SERVED_AT_FIELD_NUMBER: _ClassVar[int]
    ADOPTION_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DISMISSAL_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_IMPACT_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    NO_SUPPORTING_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    recommendation_id: str
    slate_id: str
    advertiser_id: int
    action_type: str
    category: str
    campaign_id: int
    item_id: int
    title: str
    description: str
    parameters: _containers.ScalarMap[str, str]
    surface: Surface
    rank: int
    served_at: _timestamp_pb2.Timestamp
    adoption_probability: float
    dismissal_probability: float
    expected_impact: Impact
    propensity: float
    policy: str
    degraded: bool
    model_version: str
    model_snapshot: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    as_of: str
    snapshot: str
    no_supporting_signal: bool
    def __init__(self, recommendation_id: _Optional[str] = ..., slate_id: _Optional[str] = ..., advertiser_id: _Optional[int] = ..., action_type: _Optional[str] = ..., category: _Optional[str] = ..., campaign_id: _Optional[int] = ..., item_id: _Optional[int] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., surface: _Optional[_Union[Surface, str]] = ..., rank: _Optional[int] = ..., served_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., adoption_probability: _Optional[float] = ..., dismissal_probability: _Optional[float] = ..., expected_impact: _Optional[_Union[Impact, _Mapping]] = ..., propensity: _Optional[float] = ..., policy: _Optional[str] = ..., degraded: _Optional[bool] = ..., model_version: _Optional[str] = ..., model_snapshot: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., as_of: _Optional[str] = ..., snapshot: _Optional[str] = ..., no_supporting_signal: _Optional[bool] = ...) -> None: ...
