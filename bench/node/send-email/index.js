// The tutorial's LambdaHumanApprovalSendEmailFunction (nodejs18.x, Handler: index.lambda_handler),
// copied from the seed's CloudFormation `ZipFile` line for line. The one change: CloudFormation's
// Fn::Sub pasted the topic ARN into the source at deploy time; here it comes from TOPIC_ARN,
// read once at load time just as the literal was.
console.log('Loading function');
const { SNS } = require("@aws-sdk/client-sns");
// Stands in for the deploy-time `${SNSHumanApprovalEmailTopic}` substitution.
const TOPIC_ARN = process.env.TOPIC_ARN;

exports.lambda_handler = (event, context, callback) => {
    console.log('event= ' + JSON.stringify(event));
    console.log('context= ' + JSON.stringify(context));

    const executionContext = event.ExecutionContext;
    console.log('executionContext= ' + executionContext);

    const executionName = executionContext.Execution.Name;
    console.log('executionName= ' + executionName);

    const statemachineName = executionContext.StateMachine.Name;
    console.log('statemachineName= ' + statemachineName);

    const taskToken = executionContext.Task.Token;
    console.log('taskToken= ' + taskToken);

    const apigwEndpint = event.APIGatewayEndpoint;
    console.log('apigwEndpint = ' + apigwEndpint)

    const approveEndpoint = apigwEndpint + "/execution?action=approve&ex=" + executionName + "&sm=" + statemachineName + "&taskToken=" + encodeURIComponent(taskToken);
    console.log('approveEndpoint= ' + approveEndpoint);

    const rejectEndpoint = apigwEndpint + "/execution?action=reject&ex=" + executionName + "&sm=" + statemachineName + "&taskToken=" + encodeURIComponent(taskToken);
    console.log('rejectEndpoint= ' + rejectEndpoint);

    const emailSnsTopic = TOPIC_ARN;
    console.log('emailSnsTopic= ' + emailSnsTopic);

    var emailMessage = 'Welcome! \n\n';
    emailMessage += 'This is an email requiring an approval for a step functions execution. \n\n'
    emailMessage += 'Please check the following information and click "Approve" link if you want to approve. \n\n'
    emailMessage += 'Execution Name -> ' + executionName + '\n\n'
    emailMessage += 'Approve ' + approveEndpoint + '\n\n'
    emailMessage += 'Reject ' + rejectEndpoint + '\n\n'
    emailMessage += 'Thanks for using Step functions!'

    const sns = new SNS();
    var params = {
        Message: emailMessage,
        Subject: "Required approval from AWS Step Functions",
        TopicArn: emailSnsTopic
    };

    sns.publish(params)
        .then(function(data) {
            console.log("MessageID is " + data.MessageId);
            callback(null);
        }).catch(
            function(err) {
                console.error(err, err.stack);
                callback(err);
            });
}
