//! The AWS side of the approval gate: each port of `approval_domain::ports` implemented with
//! its service, plus what both Lambdas set up the same way (SDK clients, logs, the work that
//! follows an answer).

pub mod after_answer;
pub mod clients;
pub mod dynamodb_store;
pub mod email_channel;
pub mod emf;
pub mod eventbridge_bus;
pub mod logging;
pub mod scheduler;
pub mod sdk_error;
pub mod secrets;
pub mod ses_mailer;
pub mod settings;
pub mod sfn_tasks;
pub mod sns_notifier;
mod v2_record;

pub use dynamodb_store::DynamoDbStore;
pub use email_channel::{EmailChannel, EmailDelivery};
pub use emf::EmfMeter;
pub use eventbridge_bus::EventBridgeBus;
pub use scheduler::{EventBridgeScheduler, ScheduleTarget};
pub use ses_mailer::SesMailer;
pub use sfn_tasks::StepFunctionsTasks;
pub use sns_notifier::SnsNotifier;
