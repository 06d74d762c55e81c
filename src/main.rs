use sagemaker_rollout::api::crd::crd_yaml;
fn main() {
    print!("{}", crd_yaml().unwrap());
}
