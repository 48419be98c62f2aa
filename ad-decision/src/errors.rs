//! The VAST error codes onair fires, and one firing: a code with every Error URL of the chain
//! concerned, its `[ERRORCODE]` (and other macros) already filled in.

use serde::Serialize;

/// A VAST error code (IAB VAST 4.x, section "Error Codes"). The resolver sets the ones it can
/// know; the rest (206, 401, 405, 406, 407) are the caller's, through
/// [`crate::ResolvedAd::error_urls_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ErrorCode {
    /// The response is not XML, or not well formed.
    XmlParse = 100,
    /// Well-formed XML that breaks the VAST schema: an InLine without a Linear creative, a
    /// Wrapper without a tag URI, a Linear without a Duration.
    Schema = 101,
    /// A VAST version we do not speak (VAST 1's `VideoAdServingTemplate`, a version 5).
    VersionNotSupported = 102,
    /// An ad type the player did not expect.
    Trafficking = 200,
    ExpectedDifferentLinearity = 201,
    ExpectedDifferentDuration = 202,
    ExpectedDifferentSize = 203,
    AdCategoryRequired = 204,
    InlineCategoryViolation = 205,
    /// The break was too short for the ad (set by the caller that fills the break).
    BreakShortened = 206,
    GeneralWrapper = 300,
    /// A wrapper's URI could not be had in time, or at all (the budget ran out, it was
    /// refused, it answered an error).
    WrapperTimeout = 301,
    /// Too many wrappers, a wrapper loop, or a wrapper where `followAdditionalWrappers` was off.
    WrapperLimit = 302,
    /// No ad in a response (after wrappers, or at the ad tag itself).
    NoAdsAfterWrapper = 303,
    GeneralLinear = 400,
    /// The media file could not be found (set by the caller that downloads it).
    FileNotFound = 401,
    MediaFileTimeout = 402,
    /// No MediaFile we can use: VPAID, JavaScript or Flash only, or types we do not decode.
    NoSupportedMediaFile = 403,
    MediaFileDisplay = 405,
    /// A mezzanine was required and none was given (caller-set).
    MezzanineRequired = 406,
    /// The mezzanine is still being downloaded or transcoded (caller-set).
    MezzanineInProgress = 407,
    Undefined = 900,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        self as u16
    }
}

impl From<ErrorCode> for u16 {
    fn from(code: ErrorCode) -> u16 {
        code.code()
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

/// Error URLs to call with one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorFiring {
    pub code: u16,
    /// Every Error URL of every hop of the chain concerned, macros expanded.
    pub urls: Vec<String>,
    /// The ad concerned, when one is.
    pub ad_id: Option<String>,
    /// The document (ad tag or wrapper URI) where it happened.
    pub tag_url: Option<String>,
    /// What went wrong, for people.
    pub message: String,
}
