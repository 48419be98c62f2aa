//! Ladders: the built-in ones (`fast`, the default, and `demo`), created in the database on
//! first use, and custom ones, checked as the built-in ones are ([`Ladder::validate`]).

use onair_domain::Ladder;
use onair_store::StoreError;

use crate::{Control, Problem, Refusal};

impl Control {
    /// Every stored ladder, by name, and the built-in ones not stored yet.
    pub async fn ladders(&self) -> Result<Vec<Ladder>, Refusal> {
        let mut ladders = self.store.ladders().await?;
        for name in Ladder::BUILTIN {
            if !ladders.iter().any(|ladder| ladder.name == name)
                && let Some(builtin) = Ladder::builtin(name)
            {
                ladders.push(builtin);
            }
        }
        ladders.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ladders)
    }

    /// The ladder called `name`, creating it when it is a built-in one not stored yet.
    pub async fn resolve_ladder(&self, name: &str) -> Result<Ladder, Refusal> {
        self.store
            .resolve_ladder(name)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => {
                    Refusal::NotFound(format!("there is no ladder {name:?}"))
                }
                other => other.into(),
            })
    }

    /// Creates a custom ladder, refused with every problem [`Ladder::validate`] finds, or when
    /// its name is taken (a built-in name included).
    pub async fn create_ladder(&self, ladder: &Ladder) -> Result<Ladder, Refusal> {
        if let Err(error) = ladder.validate() {
            return Err(Refusal::Invalid(
                error
                    .problems
                    .into_iter()
                    .map(|problem| Problem::of_field("ladder", problem))
                    .collect(),
            ));
        }
        if Ladder::builtin(&ladder.name).is_some()
            || self.store.ladder_by_name(&ladder.name).await?.is_some()
        {
            return Err(Refusal::Conflict(format!(
                "name: a ladder called {:?} already exists; pick another name",
                ladder.name
            )));
        }
        let id = self
            .store
            .insert_ladder(ladder)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(message) => Refusal::Conflict(format!("name: {message}")),
                other => other.into(),
            })?;
        Ok(Ladder {
            id,
            ..ladder.clone()
        })
    }
}
